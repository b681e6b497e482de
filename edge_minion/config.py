"""Minion configuration: a frozen dataclass loaded once.

Precedence, first wins: command-line flags > ``EDGEFLEET_*`` environment >
the YAML file (``-c``) > defaults. Option names follow Salt's where Salt has
one (``master``, ``master_port``, ``id``, ``grains``, ``master_finger``,
``acceptance_wait_time``...). Unknown top-level keys fail at start, except the
sections named after device modules (``obd:``, ``gpio:``...), which are handed
to those modules.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from edge_minion.errors import ConfigError

#: Config sections that belong to device modules rather than to the minion.
MODULE_SECTIONS = frozenset(
    {"test", "cmd", "gpio", "serial", "obd", "can", "power"}
)


def default_state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$EDGEFLEET_STATE_DIR``, else /var/lib/edgefleet/minion for root, else ~/.local/state."""
    env = os.environ if environ is None else environ
    if env.get("EDGEFLEET_STATE_DIR"):
        return Path(env["EDGEFLEET_STATE_DIR"])
    if os.geteuid() == 0:
        return Path("/var/lib/edgefleet/minion")
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "edgefleet" / "minion"


@dataclass(frozen=True)
class MinionConfig:
    id: str = field(default_factory=socket.gethostname)
    master: tuple[str, ...] = ("salt",)
    master_port: int = 4506
    publish_port: int | None = None  # None: use the port the master announces
    state_dir: Path = field(default_factory=default_state_dir)
    master_finger: str | None = None
    hardware: str = "auto"
    grains: Mapping[str, Any] = field(default_factory=dict)
    autosign_grains: tuple[str, ...] = ()
    log_level: str = "info"
    log_file: str | None = None
    # Reconnect and authentication.
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    acceptance_wait_time: float = 10.0
    acceptance_wait_time_max: float = 60.0
    auth_timeout: float = 10.0
    request_timeout: float = 30.0
    random_reauth_delay: float = 5.0
    heartbeat_interval: float = 30.0
    # Jobs.
    max_workers: int = 16
    outbox_max_bytes: int = 100 * 1024 * 1024
    # Module sections and anything scheduled.
    modules: Mapping[str, Any] = field(default_factory=dict)
    schedule: Mapping[str, Any] = field(default_factory=dict)
    claim_token: str | None = None

    @property
    def pki_dir(self) -> Path:
        return self.state_dir / "pki"

    @property
    def cache_dir(self) -> Path:
        return self.state_dir / "cache"


_FIELDS = {f.name for f in fields(MinionConfig)}
_FLOAT = {"backoff_base", "backoff_cap", "acceptance_wait_time", "acceptance_wait_time_max",
          "auth_timeout", "request_timeout", "random_reauth_delay", "heartbeat_interval"}
_INT = {"master_port", "publish_port", "max_workers", "outbox_max_bytes"}


def _coerce(key: str, value: Any) -> Any:
    try:
        if key == "master":
            if isinstance(value, str):
                return tuple(v.strip() for v in value.split(",") if v.strip())
            return tuple(str(v) for v in value)
        if key == "autosign_grains":
            return (value,) if isinstance(value, str) else tuple(str(v) for v in value)
        if key == "state_dir":
            return Path(value).expanduser()
        if key in _FLOAT:
            return float(value)
        if key in _INT:
            return None if value is None else int(value)
        if key in ("grains", "schedule"):
            if not isinstance(value, Mapping):
                raise TypeError(f"expected a mapping, got {type(value).__name__}")
            return dict(value)
        if key == "id":
            return str(value)
        return value
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"option {key!r}: {exc}") from exc


def read_config_file(path: Path) -> dict[str, Any]:
    """Read a YAML config file; an empty file is an empty config."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping")
    return data


def load_config(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    path: Path | None = None,
) -> MinionConfig:
    """Build the config from file, environment and command-line overrides."""
    env = os.environ if environ is None else environ
    merged: dict[str, Any] = {}
    modules: dict[str, Any] = {}
    if path is not None:
        for key, value in read_config_file(path).items():
            if key in _FIELDS and key != "modules":
                merged[key] = value
            elif key in MODULE_SECTIONS or key == "modules":
                if key == "modules":
                    modules.update(value or {})
                else:
                    modules[key] = value
            else:
                raise ConfigError(f"unknown option {key!r} in {path}")
    for key in _FIELDS:
        env_key = "EDGEFLEET_" + key.upper()
        if env_key in env and key not in ("modules", "grains", "schedule"):
            merged[key] = env[env_key]
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key not in _FIELDS:
            raise ConfigError(f"unknown option {key!r}")
        merged[key] = value
    values = {k: _coerce(k, v) for k, v in merged.items()}
    if modules:
        values["modules"] = modules
    config = MinionConfig(**values)
    if not config.id or any(c in config.id for c in "/\\\0"):
        raise ConfigError(f"invalid minion id {config.id!r}")
    return config


def with_overrides(config: MinionConfig, **changes: Any) -> MinionConfig:
    """A copy of ``config`` with some options changed (for tests and tools)."""
    return replace(config, **{k: _coerce(k, v) for k, v in changes.items()})
