"""``fleet``: run a function on the devices a target selects, Salt's way, without fixed waits.

    fleet [-E|-L|-G|-P|-S|-C|-N] TARGET FUNCTION [ARG ...] [key=value ...]

Exit status: 0 when every expected minion returned successfully; 1 when a
return reports failure; 2 when a minion is offline, silent or still running;
3 for usage or connection errors (nothing was published).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

TARGET_FLAGS = {
    "pcre": ("-E", "--pcre"), "list": ("-L", "--list"), "grain": ("-G", "--grain"),
    "grain_pcre": ("-P", "--grain-pcre"), "ipcidr": ("-S", "--ipcidr"), "compound": ("-C", "--compound"),
    "nodegroup": ("-N", "--nodegroup"),
}
EXIT_OK, EXIT_FAILED, EXIT_MISSING, EXIT_USAGE = 0, 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fleet", description="Run a function on targeted devices.",
                                epilog="Example: fleet 'car-*' obd.query RPM --out json")
    group = p.add_mutually_exclusive_group()
    for tgt_type, flags in TARGET_FLAGS.items():
        group.add_argument(*flags, dest="tgt_type", action="store_const", const=tgt_type,
                           help=f"target is a {tgt_type} expression")
    p.set_defaults(tgt_type="glob")
    p.add_argument("-t", "--timeout", type=float, help="seconds before asking stragglers (default 5)")
    p.add_argument("--gather-job-timeout", type=float, help="seconds to wait for find_job answers (default 10)")
    p.add_argument("--out", choices=["nested", "json", "yaml", "txt", "raw"], default="nested")
    p.add_argument("--async", dest="run_async", action="store_true", help="print the jid and exit")
    p.add_argument("--ttl", type=float, help="seconds a job stays deliverable to offline minions")
    p.add_argument("--preview-target", action="store_true", help="list matching minions, publish nothing")
    p.add_argument("--progress", action="store_true", default=None,
                   help="show answered/expected on stderr (default: when stderr is a terminal)")
    p.add_argument("-c", "--config", type=Path, metavar="FILE", help="master config file")
    p.add_argument("--state-dir", type=Path, metavar="DIR", help="master state dir (env EDGEFLEET_STATE_DIR)")
    p.add_argument("target", help="target expression")
    p.add_argument("function", nargs="?", help="module.function")
    p.add_argument("args", nargs="*", help="arguments: positional and key=value")
    return p


def _err(msg: str) -> None:
    print(f"fleet: error: {msg}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_intermixed_args(argv)
    from cloud_master.config import load_master_config
    from cloud_master.errors import MasterError

    try:
        config = load_master_config({"state_dir": args.state_dir}, path=args.config)
        target = _target(args)
        _validate_target(target, args.tgt_type, config.nodegroups)
    except (MasterError, ValueError) as exc:
        _err(str(exc))
        return EXIT_USAGE
    if args.preview_target:
        return _preview(config, target, args)
    if not args.function:
        _err("no function given (fleet TARGET FUNCTION [ARG ...])")
        return EXIT_USAGE
    from cloud_master.control import ControlClient
    from device_modules.args import parse_cli_args

    try:
        client = ControlClient(config.sock_dir)
        published = client.call({"cmd": "publish", "tgt": target, "tgt_type": args.tgt_type,
                                 "fun": args.function, "arg": parse_cli_args(args.args),
                                 "ttl": args.ttl, "subscribe": not args.run_async}, timeout=15)
    except MasterError as exc:
        _err(str(exc))
        return EXIT_USAGE
    if args.run_async:
        print(f"Executed command with job ID: {published['jid']}")
        return EXIT_OK
    return _collect(client, published, args, config)


def _target(args: argparse.Namespace) -> Any:
    if args.tgt_type == "list":
        return [t for t in args.target.split(",") if t]
    return args.target


def _validate_target(target: Any, tgt_type: str, nodegroups: Any) -> None:
    from edge_minion.targeting import parse

    parse(target, tgt_type, nodegroups=nodegroups)


def _preview(config: Any, target: Any, args: argparse.Namespace) -> int:
    from cloud_master.grains_cache import GrainsCache
    from cloud_master.keystore import KeyStore
    from cloud_master.publisher import expected_minions

    accepted = KeyStore(config.pki_dir, config.cache_dir).list()["minions"]
    cache = GrainsCache(config.cache_dir / "grains.sqlite")
    matched, unknown = expected_minions(target, args.tgt_type, accepted, cache.memory, config.nodegroups)
    cache.close()
    if args.out == "json":
        import json

        print(json.dumps({"minions": matched, "unknown": unknown}, indent=4))
    else:
        for mid in matched:
            print(mid)
        for mid in unknown:
            print(f"{mid} (unknown: no grains cached)")
    return EXIT_OK


def _collect(client: Any, published: dict[str, Any], args: argparse.Namespace, config: Any) -> int:
    from cloud_master.cli.render import Renderer
    from cloud_master.waiter import wait_for_returns

    show_progress = sys.stderr.isatty() if args.progress is None else args.progress
    render = Renderer(args.out, progress=show_progress)
    render.start(published)
    outcome = wait_for_returns(
        client, published,
        timeout=args.timeout if args.timeout is not None else config.timeout,
        gather_timeout=args.gather_job_timeout if args.gather_job_timeout is not None
        else config.gather_job_timeout,
        on_return=render.on_return, on_progress=render.on_progress,
    )
    render.finish(outcome)
    client.close()
    if outcome.missing:
        return EXIT_MISSING
    if any(not _succeeded(load) for load in outcome.returns.values()):
        return EXIT_FAILED
    return EXIT_OK


def _succeeded(load: dict[str, Any]) -> bool:
    if load.get("success") is False:
        return False
    retcode = load.get("retcode", 0)
    return not (isinstance(retcode, int) and retcode != 0)


if __name__ == "__main__":
    sys.exit(main())
