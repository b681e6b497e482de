"""Flags and helpers shared by the master's CLIs: state dir, config file, output, log level."""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cloud_master.config import MasterConfig

__all__ = ["add_common_args", "config_from_args", "error", "format_data", "setup_logging"]

_LEVELS = {"all": 1, "garbage": 1, "trace": 5, "debug": logging.DEBUG, "info": logging.INFO,
           "warning": logging.WARNING, "error": logging.ERROR, "critical": logging.CRITICAL,
           "quiet": logging.CRITICAL + 10}


def add_common_args(parser: argparse.ArgumentParser, outputs: Sequence[str], default_out: str) -> None:
    """Add ``-c/--config``, ``--state-dir``, ``--out`` and ``-l/--log-level`` to ``parser``."""
    group = parser.add_argument_group("master state")
    group.add_argument("-c", "--config", metavar="FILE", type=Path,
                       help="master config file (YAML)")
    group.add_argument("--state-dir", metavar="DIR", type=Path,
                       help="master state directory (env EDGEFLEET_STATE_DIR)")
    group.add_argument("--out", choices=list(outputs), default=default_out,
                       help=f"output format (default: {default_out})")
    group.add_argument("-l", "--log-level", choices=list(_LEVELS), default=None,
                       help="console log level (default: warning)")


def config_from_args(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> MasterConfig:
    """The master config from the common flags, the environment and the ``-c`` file.

    Raises:
        ConfigError: as ``load_master_config``.
    """
    from cloud_master.config import load_master_config

    overrides = {"state_dir": args.state_dir, "log_level": args.log_level}
    return load_master_config(overrides, os.environ if environ is None else environ, args.config)


def setup_logging(level: str, log_file: Path | None = None) -> None:
    """Log at the Salt-named ``level`` to ``log_file``, or to stderr when it is None."""
    handler = logging.FileHandler(log_file) if log_file else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s [%(name)s][%(levelname)s] %(message)s"
                                           if log_file else "[%(levelname)-8s] %(message)s"))
    logging.basicConfig(level=_LEVELS.get(level, logging.WARNING), handlers=[handler])


def error(prog: str, message: str, code: int = 1) -> int:
    """Print ``prog: error: message`` to stderr and return ``code`` (for ``return error(...)``)."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    return code


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, bytes):
        try:
            return obj.decode("utf-8")
        except UnicodeDecodeError:
            return "base64:" + base64.b64encode(obj).decode("ascii")
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    return repr(obj)


def format_data(data: Any, out: str) -> str:
    """``data`` as ``json`` or ``yaml``; ``nested`` is rendered as block YAML for now
    (Salt's nested outputter is close to it)."""
    if out == "json":
        return json.dumps(data, indent=4, default=_jsonable, ensure_ascii=False)
    import yaml

    return str(yaml.safe_dump(json.loads(json.dumps(data, default=_jsonable)),
                              default_flow_style=False, sort_keys=False, allow_unicode=True)).rstrip("\n")
