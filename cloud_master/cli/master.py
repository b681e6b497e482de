"""``cloud-master``: run the master on embedded defaults or a YAML config."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from cloud_master.cli.common import error, setup_logging


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cloud-master", description="Run the edgefleet master.")
    p.add_argument("-c", "--config", metavar="FILE", type=Path, help="master config file (YAML)")
    p.add_argument("--state-dir", metavar="DIR", type=Path, help="state directory (env EDGEFLEET_STATE_DIR)")
    p.add_argument("--interface", help="address to bind (default 0.0.0.0)")
    p.add_argument("--publish-port", type=int, help="publish port (default 4505)")
    p.add_argument("--ret-port", type=int, help="request/return port (default 4506)")
    p.add_argument("-l", "--log-level", default=None,
                   choices=["debug", "info", "warning", "error", "critical", "quiet"])
    p.add_argument("--log-file", type=Path, help="log to this file instead of stderr")
    p.add_argument("--auto-accept", action="store_true", default=None,
                   help="accept every new key (development only)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from cloud_master.config import load_master_config
    from cloud_master.errors import MasterError

    try:
        config = load_master_config(
            {"state_dir": args.state_dir, "interface": args.interface, "publish_port": args.publish_port,
             "ret_port": args.ret_port, "log_level": args.log_level, "log_file": args.log_file,
             "auto_accept": args.auto_accept},
            path=args.config,
        )
    except (MasterError, ValueError) as exc:
        return error("cloud-master", str(exc), 2)
    setup_logging(str(config.log_level), config.log_file)
    try:
        return asyncio.run(_serve(config))
    except MasterError as exc:
        return error("cloud-master", str(exc), 1)
    except OSError as exc:
        return error("cloud-master", f"cannot start: {exc}", 1)


async def _serve(config: object) -> int:
    import zmq

    from cloud_master.server import MasterServer

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        server = MasterServer(config)  # type: ignore[arg-type]
        await server.run(stop)
    except zmq.ZMQError as exc:
        print(f"cloud-master: error: cannot bind: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
