"""``edge-minion``: the device agent."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, given the width ``shutil.get_terminal_size`` would give.

    argparse imports shutil (and with it zlib, bz2 and lzma) for that width every time
    ``add_argument`` builds a formatter; the minion keeps whatever it imports while it idles.
    """

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        if width is None:
            width = _terminal_columns() - 2
        super().__init__(prog, indent_increment, max_help_position, width)


def _terminal_columns() -> int:
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="edge-minion", description="Run the edgefleet minion.",
                                formatter_class=_HelpFormatter)
    p.add_argument("-c", "--config", type=Path, metavar="FILE", help="minion config file (YAML)")
    p.add_argument("--master", help="master host(s), comma-separated for failover")
    p.add_argument("--master-port", type=int, help="master request port (default 4506)")
    p.add_argument("--id", help="minion id (default: the hostname)")
    p.add_argument("--state-dir", type=Path, help="state directory (env EDGEFLEET_STATE_DIR)")
    p.add_argument("--master-finger", help="pin the master's key fingerprint (fleet-key -F on the master)")
    p.add_argument("--hardware", choices=["auto", "real", "sim"], help="hardware backends (default auto)")
    p.add_argument("-l", "--log-level", choices=["debug", "info", "warning", "error", "critical"])
    p.add_argument("--log-file", help="log to this file instead of stderr")
    return p


def main(argv: list[str] | None = None) -> int:
    from edge_minion.openssl_free import import_without_openssl

    import_without_openssl()  # before anything imports asyncio or hashlib
    import asyncio

    args = build_parser().parse_args(argv)
    from edge_minion.config import load_config
    from edge_minion.errors import MinionError

    try:
        config = load_config(
            {"master": args.master, "master_port": args.master_port, "id": args.id,
             "state_dir": args.state_dir, "master_finger": args.master_finger, "hardware": args.hardware,
             "log_level": args.log_level, "log_file": args.log_file},
            path=args.config,
        )
    except MinionError as exc:
        print(f"edge-minion: error: {exc}", file=sys.stderr)
        return 2
    handler = logging.FileHandler(config.log_file) if config.log_file else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s [%(name)s][%(levelname)s] %(message)s"))
    logging.basicConfig(level=getattr(logging, config.log_level.upper(), logging.INFO), handlers=[handler])
    try:
        asyncio.run(_run(config, args.config))
    except MinionError as exc:
        print(f"edge-minion: error: {exc}", file=sys.stderr)
        return 1
    return 0


async def _run(config: object, config_path: Path | None = None) -> None:
    import asyncio

    from edge_minion.config import MinionConfig
    from edge_minion.jobs import JobTable
    from edge_minion.minion import Minion
    from edge_minion.runtime import build_runtime

    assert isinstance(config, MinionConfig)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    table = JobTable()
    holder: list[Minion] = []

    def grains_changed(items: dict[str, object]) -> None:
        if holder:
            holder[0].grains_changed()

    runtime = build_runtime(config, table, on_grains_change=grains_changed)

    def matches(load: dict[str, object], grains: dict[str, object]) -> bool:
        from edge_minion.targeting import match_publish  # at the first publish: an idle minion needs none

        return bool(match_publish(load, config.id, grains))

    minion = Minion(config, runtime.run, runtime.grain_items, matches, table=table,
                    idempotent=runtime.registry.is_idempotent, config_path=config_path)
    holder.append(minion)
    runtime.context.extra["scheduler"] = minion.scheduler  # schedule.* acts on the live scheduler
    logging.getLogger("edge_minion").info("minion %s starting (master %s)", config.id, ",".join(config.master))
    await minion.run(stop)


if __name__ == "__main__":
    sys.exit(main())
