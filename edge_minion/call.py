"""``fleet-call``: run one device function here, without a master (Salt's ``salt-call --local``).

    fleet-call [-c FILE] [--state-dir DIR] [--id ID] [--hardware auto|real|sim]
               [--out nested|json|yaml|txt|raw] [-l LEVEL] FUNCTION [ARG ...] [key=value ...]

The return is printed under ``local:`` (``{"local": ret}`` with ``--out json``).
The exit status is 0 when the function succeeded, else the job's retcode
(never 0), and 2 for a usage or configuration error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any, cast

from device_modules.args import parse_cli_args
from device_modules.context import DeviceContext, HardwareMode
from device_modules.outcome import execute
from device_modules.registry import Registry
from edge_minion.config import MinionConfig, load_config
from edge_minion.errors import MinionError
from edge_minion.output import OUTPUTTERS, format_output

__all__ = ["build_parser", "main"]

log = logging.getLogger("edge_minion.call")

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fleet-call",
        description="Run a device function on this machine, without a master.",
        epilog="Arguments: words are positional arguments, key=value words keyword arguments; "
               "both are read as YAML where the function does not expect text (\"1\" is 1, 'True' is True).",
    )
    p.add_argument("-c", "--config", type=Path, metavar="FILE", help="minion config file (YAML)")
    p.add_argument("--state-dir", type=Path, metavar="DIR", help="state directory (env EDGEFLEET_STATE_DIR)")
    p.add_argument("--id", help="minion id (default: from the config, else the hostname)")
    p.add_argument("--hardware", choices=["auto", "real", "sim"], help="hardware backends (default auto)")
    p.add_argument("--out", choices=OUTPUTTERS, help="outputter (default nested)")
    p.add_argument("-l", "--log-level", default="warning",
                   choices=["debug", "info", "warning", "error", "critical"], help="log level on stderr")
    p.add_argument("function", metavar="FUNCTION", help="module.function, e.g. test.ping")
    p.add_argument("args", metavar="ARG", nargs="*", help="arguments: value or key=value")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_intermixed_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level.upper()), stream=sys.stderr,
                        format="[%(levelname)-8s] %(name)s: %(message)s")
    try:
        config = load_config({"id": args.id, "state_dir": args.state_dir, "hardware": args.hardware},
                             path=args.config)
    except MinionError as exc:
        print(f"fleet-call: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    ctx, registry = build(config)
    try:
        outcome = execute(registry, args.function, parse_cli_args(args.args))
    finally:
        ctx.resources.close()
    out = args.out or outcome.out or "nested"
    print(format_output({"local": outcome.return_}, out, retcode=outcome.retcode))
    if outcome.success:
        return 0
    return outcome.retcode or 1


def build(config: MinionConfig) -> tuple[DeviceContext, Registry]:
    """The device context and registry a minion with ``config`` would run with.

    The minion's own grain store is used when ``edge_minion.grains`` imports and
    the state directory is usable; otherwise ``ctx.grains`` stays ``None`` and
    the ``grains`` module answers from its built-in fallback.
    """
    try:
        from edge_minion.runtime import build_runtime

        runtime = build_runtime(config)
    except ImportError as exc:
        log.warning("no grain collector (%s); using the built-in minimal grains", exc)
    except (OSError, MinionError) as exc:
        log.warning("grain store unusable (%s); using the built-in minimal grains", exc)
    else:
        registry: Any = runtime.registry
        if isinstance(registry, Registry):
            return runtime.context, registry
    ctx = DeviceContext(
        minion_id=config.id, config=dict(config.modules), hardware=_hardware(config.hardware),
        state_dir=config.state_dir,
    )
    return ctx, Registry(ctx)


def _hardware(mode: str) -> HardwareMode:
    return cast(HardwareMode, mode) if mode in ("auto", "real", "sim") else "auto"
