"""Master configuration: a frozen dataclass loaded once.

Precedence, first wins: overrides (command-line flags) > ``EDGEFLEET_<OPTION>``
environment variables > the YAML file given with ``-c`` > defaults. Option names
are Salt's where Salt has one (``interface``, ``publish_port``, ``ret_port``,
``auto_accept``, ``autosign_file``, ``keep_jobs_seconds``, ``gather_job_timeout``,
``nodegroups``...). Every directory derives from ``state_dir``; unknown keys fail
at start with the name of the source and, when there is one, a close match.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from cloud_master.errors import ConfigError

__all__ = ["MasterConfig", "default_state_dir", "load_master_config", "read_config_file"]

ENV_PREFIX = "EDGEFLEET_"
LOG_LEVELS = ("all", "garbage", "trace", "debug", "info", "warning", "error", "critical", "quiet")


def default_state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$EDGEFLEET_STATE_DIR``, else /var/lib/edgefleet/master for root, else ~/.local/state/..."""
    env = os.environ if environ is None else environ
    if env.get("EDGEFLEET_STATE_DIR"):
        return Path(env["EDGEFLEET_STATE_DIR"]).expanduser()
    if os.geteuid() == 0:
        return Path("/var/lib/edgefleet/master")
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "edgefleet" / "master"


@dataclass(frozen=True)
class MasterConfig:
    """Every option of the master; see the module docstring for where values come from."""

    state_dir: Path = field(default_factory=default_state_dir)
    interface: str = "0.0.0.0"
    publish_port: int = 4505
    ret_port: int = 4506
    log_level: str = "warning"
    log_file: Path | None = None  # None: log to stderr
    # Key acceptance (SALT-PROTOCOL.md §1.2).
    auto_accept: bool = False
    autosign_file: Path | None = None
    autoreject_file: Path | None = None
    autosign_grains_dir: Path | None = None
    autosign_timeout: int = 120  # minutes a pki_dir/minions_autosign/<id> stub stays valid
    permissive_pki_access: bool = False
    max_minions: int = 0
    # Jobs.
    keep_jobs_seconds: int = 86400
    job_ttl: int = 86400  # how long a job stays deliverable to minions that are offline
    timeout: float = 5.0  # CLI wait before asking stragglers (Salt's -t)
    gather_job_timeout: float = 10.0
    nodegroups: Mapping[str, str | list[str]] = field(default_factory=dict)
    # Transport.
    worker_threads: int = 5
    sign_pub_messages: bool = True
    zmq_filtering: bool = False
    max_message_size: int = 10 * 1024 * 1024
    presence_timeout: float = 90.0  # seconds without traffic before a minion counts as gone

    @property
    def pki_dir(self) -> Path:
        return self.state_dir / "pki"

    @property
    def cache_dir(self) -> Path:
        return self.state_dir / "cache"

    @property
    def sock_dir(self) -> Path:
        return self.state_dir / "sock"

    @property
    def jobs_db(self) -> Path:
        return self.cache_dir / "jobs.sqlite"


_FIELDS = {f.name: f for f in fields(MasterConfig)}
_BOOL = {"auto_accept", "permissive_pki_access", "sign_pub_messages", "zmq_filtering"}
_INT = {"publish_port", "ret_port", "autosign_timeout", "max_minions", "keep_jobs_seconds",
        "job_ttl", "worker_threads", "max_message_size"}
_FLOAT = {"timeout", "gather_job_timeout", "presence_timeout"}
_PATH = {"state_dir", "log_file", "autosign_file", "autoreject_file", "autosign_grains_dir"}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

# Salt options that exist under another shape here: say so instead of "unknown".
_SALT_HINTS = {
    "keep_jobs": "use keep_jobs_seconds (Salt renamed it in 3006)",
    "root_dir": "every directory derives from state_dir",
    "pki_dir": "it is always <state_dir>/pki",
    "cachedir": "it is always <state_dir>/cache",
    "sock_dir": "it is always <state_dir>/sock",
}


def _unknown(key: str, source: str) -> ConfigError:
    msg = f"unknown option {key!r} in {source}"
    if key in _SALT_HINTS:
        msg += f": {_SALT_HINTS[key]}"
    else:
        import difflib  # only on this error path: keeps CLI start-up short

        close = difflib.get_close_matches(key, _FIELDS, n=1)
        if close:
            msg += f" (did you mean {close[0]!r}?)"
    return ConfigError(msg)


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ValueError(f"expected a boolean, got {value!r}")


def _to_nodegroups(value: Any) -> dict[str, str | list[str]]:
    if isinstance(value, str):  # from the environment: JSON (a YAML subset) or YAML
        import yaml  # only here and in read_config_file: keeps `fleet` quick to start

        try:
            value = yaml.safe_load(value) if value.strip() else {}
        except yaml.YAMLError as exc:
            raise ValueError(str(exc)) from exc
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a mapping of name to target, got {type(value).__name__}")
    groups: dict[str, str | list[str]] = {}
    for name, target in value.items():
        if isinstance(target, str):
            groups[str(name)] = target
        elif isinstance(target, list) and all(isinstance(t, str) for t in target):
            groups[str(name)] = list(target)
        else:
            raise ValueError(f"nodegroup {name!r} must be a string or a list of strings")
    return groups


def _coerce(key: str, value: Any) -> Any:
    try:
        if key in _BOOL:
            return _to_bool(value)
        if key in _INT:
            if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
                raise ValueError(f"expected an integer, got {value!r}")
            return int(value)
        if key in _FLOAT:
            if isinstance(value, bool):
                raise ValueError(f"expected a number, got {value!r}")
            return float(value)
        if key in _PATH:
            if value is None or value == "":
                if key == "state_dir":
                    raise ValueError("must not be empty")
                return None
            return Path(str(value)).expanduser()
        if key == "nodegroups":
            return _to_nodegroups(value)
        if key == "log_level":
            level = str(value).lower()
            if level not in LOG_LEVELS:
                raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}")
            return level
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"option {key!r}: {exc}") from exc


def _validate(config: MasterConfig) -> None:
    for key in ("publish_port", "ret_port"):
        port = getattr(config, key)
        if not 1 <= port <= 65535:
            raise ConfigError(f"option {key!r}: {port} is not a TCP port (1-65535)")
    if config.publish_port == config.ret_port:
        raise ConfigError(f"publish_port and ret_port are both {config.ret_port}")
    for key in ("keep_jobs_seconds", "job_ttl", "max_minions", "autosign_timeout"):
        if getattr(config, key) < 0:
            raise ConfigError(f"option {key!r} must not be negative")
    for key in ("timeout", "gather_job_timeout", "presence_timeout", "worker_threads",
                "max_message_size"):
        if getattr(config, key) <= 0:
            raise ConfigError(f"option {key!r} must be positive")


def read_config_file(path: Path) -> dict[str, Any]:
    """Read a YAML config file; an empty file is an empty config."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping, not {type(data).__name__}")
    return data


SYSTEM_CONFIG = Path("/etc/edgefleet/master.yaml")


def find_config_file(overrides: Mapping[str, Any], environ: Mapping[str, str]) -> Path | None:
    """The config file used when ``-c`` is not given, so the master and its CLIs agree.

    ``$EDGEFLEET_CONFIG``, else ``<state dir>/master.yaml``, else ``/etc/edgefleet/master.yaml``,
    the first that exists.
    """
    if environ.get("EDGEFLEET_CONFIG"):
        return Path(environ["EDGEFLEET_CONFIG"])
    state = overrides.get("state_dir") or environ.get(ENV_PREFIX + "STATE_DIR") or default_state_dir(environ)
    for candidate in (Path(state).expanduser() / "master.yaml", SYSTEM_CONFIG):
        if candidate.is_file():
            return candidate
    return None


def load_master_config(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    path: Path | None = None,
) -> MasterConfig:
    """Build the master config from defaults, the file, the environment and overrides.

    ``overrides`` values of ``None`` are ignored (an argparse flag not given).
    ``environ`` defaults to ``os.environ``; only ``EDGEFLEET_<OPTION>`` names of
    known options are read (``EDGEFLEET_NODEGROUPS`` holds JSON or YAML).

    Raises:
        ConfigError: unknown option, unreadable file, or a value of the wrong type or range.
    """
    env = os.environ if environ is None else environ
    merged: dict[str, Any] = {}
    if path is None:
        path = find_config_file(overrides or {}, env)
    if path is not None:
        for key, value in read_config_file(Path(path)).items():
            if key not in _FIELDS:
                raise _unknown(str(key), str(path))
            merged[key] = value
    for key in _FIELDS:
        env_key = ENV_PREFIX + key.upper()
        if env_key in env:
            merged[key] = env[env_key]
    for key, value in (overrides or {}).items():
        if key not in _FIELDS:
            raise _unknown(key, "overrides")
        if value is not None:
            merged[key] = value
    merged.setdefault("state_dir", default_state_dir(env))
    config = MasterConfig(**{key: _coerce(key, value) for key, value in merged.items()})
    _validate(config)
    return config

