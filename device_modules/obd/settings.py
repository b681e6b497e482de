"""The ``obd:`` config section and the choice of backend.

::

    obd:
      hardware: auto          # auto | real | sim (else the minion's hardware mode)
      port: /dev/serial0      # ELM327: a device, pty, socket://host:port or loop://
      baudrate: 38400
      backend: elm327         # elm327 | can | sim; default: elm327, or can when can: is given
      protocol: "0"           # ELM327 ATSP number; 0 searches
      timeout: 10             # seconds the ELM327 may take to answer one command
      can:                    # keyword arguments of python-can's can.Bus, plus:
        interface: slcan
        channel: /dev/ttyACM0
        bitrate: 500000
        extended: false       # 29-bit ids
        response_timeout: 0.5 # seconds to wait for the first ECU

Choice (same in ``available()`` and when the handle is opened):

* hardware ``sim`` or ``backend: sim``: the simulator;
* hardware ``real``: the configured real backend, even if its port is absent
  (calls then fail with :class:`~device_modules.errors.DeviceIOError`);
* hardware ``auto``: the real backend if its port exists, else the simulator,
  with the reason given.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from device_modules.context import DeviceContext, HardwareMode
from device_modules.errors import InvalidArguments
from device_modules.obd.backend import PROTOCOLS, ObdBackend

__all__ = ["Choice", "ObdSettings", "choose", "open_backend", "settings_from"]

_KEYS = {"hardware", "port", "baudrate", "backend", "protocol", "timeout", "can"}
_CAN_OWN_KEYS = {"extended", "response_timeout", "settle"}


@dataclass(frozen=True)
class ObdSettings:
    """The ``obd:`` section, checked (see the module docstring)."""

    port: str = "/dev/serial0"
    baudrate: int = 38400
    backend: str | None = None
    protocol: str = "0"
    timeout: float = 10.0
    can: Mapping[str, Any] = field(default_factory=dict)

    @property
    def real_backend(self) -> str:
        return self.backend if self.backend in ("elm327", "can") else ("can" if self.can else "elm327")

    def can_bus_config(self) -> dict[str, Any]:
        return {k: v for k, v in self.can.items() if k not in _CAN_OWN_KEYS}


@dataclass(frozen=True)
class Choice:
    """Which backend to open, and why (shown by ``available()``)."""

    backend: str
    reason: str = ""


def settings_from(section: Mapping[str, Any]) -> ObdSettings:
    """The checked settings of an ``obd:`` config section.

    Raises:
        InvalidArguments: an unknown key or a value of the wrong kind.
    """
    unknown = sorted(set(section) - _KEYS)
    if unknown:
        raise InvalidArguments(f"unknown obd setting(s) {', '.join(unknown)}; known: {', '.join(sorted(_KEYS))}")
    backend = section.get("backend")
    if backend is not None and backend not in ("elm327", "can", "sim"):
        raise InvalidArguments(f"obd:backend must be elm327, can or sim, not {backend!r}")
    protocol = str(section.get("protocol", "0")).upper()
    if protocol not in PROTOCOLS:
        raise InvalidArguments(f"obd:protocol must be one of {', '.join(PROTOCOLS)}, not {protocol!r}")
    can = section.get("can") or {}
    if not isinstance(can, Mapping):
        raise InvalidArguments(f"obd:can must be a mapping of python-can bus options, not {can!r}")
    try:
        return ObdSettings(port=str(section.get("port", "/dev/serial0")), baudrate=int(section.get("baudrate", 38400)),
                           backend=backend, protocol=protocol, timeout=float(section.get("timeout", 10.0)),
                           can=dict(can))
    except (TypeError, ValueError) as exc:
        raise InvalidArguments(f"bad obd setting: {exc}") from exc


def choose(settings: ObdSettings, hardware: HardwareMode) -> Choice:
    """The backend for this hardware mode (rules in the module docstring)."""
    if hardware == "sim" or settings.backend == "sim":
        return Choice("sim", f"simulated car ({'backend: sim' if settings.backend == 'sim' else 'hardware: sim'})")
    backend = settings.real_backend
    where = _where(settings, backend)
    if hardware == "real" or _present(where):
        return Choice(backend, "" if _present(where) else f"no adapter at {where} yet")
    return Choice("sim", f"no adapter at {where}; using the simulator")


def missing_driver(backend: str) -> str | None:
    """Why ``backend`` cannot run here (a library is missing), or ``None``."""
    needs = {"elm327": ("serial",), "can": ("can", "isotp")}.get(backend, ())
    names = {"serial": "pyserial", "can": "python-can", "isotp": "can-isotp"}
    missing = [names[m] for m in needs if importlib.util.find_spec(m) is None]
    return f"{' and '.join(missing)} not installed" if missing else None


def open_backend(ctx: DeviceContext, settings: ObdSettings) -> ObdBackend:
    """Open the backend :func:`choose` picks for ``ctx``'s hardware mode."""
    choice = choose(settings, ctx.hardware_for("obd"))
    if choice.backend == "sim":
        from device_modules.obd.sim import Simulator
        return Simulator()
    if choice.backend == "can":
        from device_modules.obd.can_backend import CanBackend
        own = {k: settings.can[k] for k in _CAN_OWN_KEYS if k in settings.can}
        return CanBackend(settings.can_bus_config(), extended=bool(own.get("extended", False)),
                          response_timeout=float(own.get("response_timeout", 0.5)),
                          settle=float(own.get("settle", 0.1)))
    from device_modules.obd.elm327 import Elm327
    return Elm327(settings.port, settings.baudrate, settings.timeout, settings.protocol)


def _where(settings: ObdSettings, backend: str) -> str:
    return str(settings.can.get("channel", "")) if backend == "can" else settings.port


def _present(where: str) -> bool:
    """Whether the adapter's port exists: a path must exist; a URL or an interface name is trusted."""
    where = where.split("@")[0]  # slcan channels may carry "@<baud>"
    if "://" in where or not where:
        return bool(where)
    if where.startswith("/"):
        return os.path.exists(where)
    return os.path.exists(f"/sys/class/net/{where}") or os.path.exists(where)
