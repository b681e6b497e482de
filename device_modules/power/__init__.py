"""``power.*``: the board's power state, and reboot, shutdown and timed sleep.

Every disruptive call (``reboot``, ``shutdown``, ``sleep``) needs
``confirm=True``. Readings come from /proc and /sys under ``root``; the
supply voltage comes from the OBD adapter when the ``obd`` module is
configured. Config section ``power:``::

    hardware: auto | real | sim     # sim records the acts instead of performing them
    helper: [sudo, /usr/lib/edgefleet/power-helper]   # default: systemctl / rtcwake
    root: /                         # where /proc and /sys are read
    voltage_source: device_modules.obd                 # a module with a battery function

Sleep timers (``sleep_timer``) are named deadlines kept in
``<state_dir>/power_sleep_timers.json``; the scheduler asks :func:`due_timers`.
"""

from __future__ import annotations

import importlib
import logging
import math
import shlex
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from device_modules.context import DeviceContext
from device_modules.errors import ConfirmationRequired, DeviceError, DeviceIOError, InvalidArguments
from device_modules.hardware import choose, module_root
from device_modules.power import readings
from device_modules.power.backend import RESOURCE, PowerBackend
from device_modules.power.timers import SleepTimers, view
from device_modules.spec import Availability, ModuleSpec

__all__ = ["MODULE", "due_timers", "reboot", "shutdown", "sleep", "sleep_timer", "status"]

log = logging.getLogger(__name__)

SIMULATOR = "the power simulator (acts are recorded, not performed)"
MAX_DELAY = 86400.0


def _backend(ctx: DeviceContext) -> PowerBackend:
    if choose(ctx, "power", SIMULATOR).mode == "sim":
        from device_modules.power.sim import SimPower

        return ctx.resources.get(RESOURCE, lambda: SimPower(ctx.state_dir))
    from device_modules.power.linux import HelperPower

    helper = ctx.module_config("power").get("helper")
    if isinstance(helper, str):
        helper = shlex.split(helper)
    if helper is not None and (not isinstance(helper, list) or not helper
                               or not all(isinstance(part, str) for part in helper)):
        raise InvalidArguments("config power.helper must be a command: a list of strings")
    root = module_root(ctx, "power")
    return ctx.resources.get(RESOURCE, lambda: HelperPower(helper, root))


def _confirm(what: str, confirm: bool) -> None:
    if confirm is not True:
        raise ConfirmationRequired(f"power.{what} {'reboots' if what == 'reboot' else 'powers off'} the device: "
                                   f"call it again with confirm=True")


def _seconds(name: str, value: float, low: float, high: float = MAX_DELAY) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or not low <= value <= high:
        raise InvalidArguments(f"{name} must be a number of seconds from {low:g} to {high:g}, not {value!r}")
    return float(value)


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")


def _supply_voltage(ctx: DeviceContext) -> tuple[float | None, str | None]:
    source = str(ctx.module_config("power").get("voltage_source", "device_modules.obd"))
    name = source.rsplit(".", 1)[-1]
    if name not in ctx.config:
        return None, f"the {name} module is not configured (no '{name}:' section)"
    try:
        module = importlib.import_module(source)
    except ImportError as exc:
        return None, f"{source} is not installed ({exc})"
    spec = getattr(module, "MODULE", None)
    battery = spec.functions.get("battery") if isinstance(spec, ModuleSpec) else None
    if spec is None or battery is None:
        return None, f"{source} has no battery function"
    if spec.available is not None and not (got := spec.available(ctx)).ok:
        return None, f"the {spec.name} module is unavailable: {got.reason}"
    try:
        answer = battery(ctx)
    except DeviceError as exc:
        return None, f"{spec.name}.battery failed: {exc}"
    volts = answer.get("voltage") if isinstance(answer, Mapping) else answer
    if isinstance(volts, bool) or not isinstance(volts, int | float):
        return None, f"{spec.name}.battery answered no voltage: {answer!r}"
    return float(volts), None


def status(ctx: DeviceContext) -> dict[str, Any]:
    """Uptime, firmware under-voltage and throttling flags (now and since boot), CPU
    temperature and supply voltage. A value that cannot be had is ``null`` and
    ``reasons`` says why.

    CLI Example:

    .. code-block:: bash

        salt '*' power.status
    """
    root = module_root(ctx, "power")
    reasons: dict[str, str] = {}
    out: dict[str, Any] = {"backend": _backend(ctx).name}
    out["uptime"], why_up = readings.uptime(root)
    out["cpu_temp"], why_temp = readings.cpu_temp(root)
    flags, why_flags = readings.throttled(root)
    out.update(flags or {"undervoltage": None, "throttling": None})
    out["supply_voltage"], why_volts = _supply_voltage(ctx)
    for key, why in (("uptime", why_up), ("cpu_temp", why_temp), ("undervoltage", why_flags),
                     ("throttling", why_flags), ("supply_voltage", why_volts)):
        if why:
            reasons[key] = why
    out["reasons"] = reasons
    return out


def reboot(ctx: DeviceContext, confirm: bool = False, delay: float = 0) -> dict[str, Any]:
    """Reboot the device, ``delay`` seconds from now (the job answers first).

    Raises:
        ConfirmationRequired: without ``confirm=True``.

    CLI Example:

    .. code-block:: bash

        salt '*' power.reboot confirm=True delay=10
    """
    _confirm("reboot", confirm)
    wait = _seconds("delay", delay, 0)
    backend = _backend(ctx)
    with ctx.resources.lock(RESOURCE):
        log.warning("power: reboot in %g s", wait)
        backend.reboot(wait)
    return {"action": "reboot", "delay": wait, "at": _iso(time.time() + wait), "backend": backend.name}


def shutdown(ctx: DeviceContext, confirm: bool = False, delay: float = 0) -> dict[str, Any]:
    """Power the device off, ``delay`` seconds from now.

    Raises:
        ConfirmationRequired: without ``confirm=True``.

    CLI Example:

    .. code-block:: bash

        salt '*' power.shutdown confirm=True
    """
    _confirm("shutdown", confirm)
    wait = _seconds("delay", delay, 0)
    backend = _backend(ctx)
    with ctx.resources.lock(RESOURCE):
        log.warning("power: power off in %g s", wait)
        backend.poweroff(wait)
    return {"action": "shutdown", "delay": wait, "at": _iso(time.time() + wait), "backend": backend.name}


def sleep(ctx: DeviceContext, interval: float = 60, delay: float = 0, confirm: bool = False) -> dict[str, Any]:
    """Power off ``delay`` seconds from now and wake ``interval`` seconds later, by the RTC wake alarm.

    Raises:
        ConfirmationRequired: without ``confirm=True``.
        DeviceIOError: the board has no RTC wake alarm (it would not wake up).

    CLI Example:

    .. code-block:: bash

        salt '*' power.sleep interval=3600 confirm=True
    """
    _confirm("sleep", confirm)
    span = math.ceil(_seconds("interval", interval, 1, 366 * 86400))
    wait = _seconds("delay", delay, 0)
    backend = _backend(ctx)
    why = backend.no_wake_alarm()
    if why:
        raise DeviceIOError(f"{why}: power.sleep could not wake it up again (use power.shutdown)")
    with ctx.resources.lock(RESOURCE):
        backend.set_wake_alarm(span + math.ceil(wait))
        log.warning("power: sleep for %d s, starting in %g s", span, wait)
        backend.poweroff(wait)
    now = time.time()
    return {"action": "sleep", "interval": span, "delay": wait, "at": _iso(now + wait),
            "wake_at": _iso(now + math.ceil(wait) + span), "backend": backend.name}


def sleep_timer(ctx: DeviceContext, add: str | None = None, clear: str | None = None, period: float = 1800,
                reason: str | None = None) -> dict[str, dict[str, Any]]:
    """List, add or clear sleep timers; answers every timer afterwards, each with ``due``.

    ``add=<name>`` starts (or restarts) a timer due ``period`` seconds from now;
    ``clear=<name>`` removes one, ``clear='*'`` all. A due timer stays listed
    (``due: true``) until cleared; the scheduler puts the device to sleep.

    CLI Example:

    .. code-block:: bash

        salt '*' power.sleep_timer
        salt '*' power.sleep_timer add=ignition_off period=600 reason='engine stopped'
        salt '*' power.sleep_timer clear='*'
    """
    now = time.time()
    store = SleepTimers(ctx.state_dir)
    if add is None and clear is None:
        timers = store.load()
    else:
        wait = _seconds("period", period, 0, 366 * 86400)
        if reason is not None and not isinstance(reason, str):
            raise InvalidArguments(f"reason must be text, not {reason!r}")
        with ctx.resources.lock("power:sleep_timers"):
            timers = store.change(now, add=add, clear=clear, period=wait, reason=reason)
    return {name: view(timer, now) for name, timer in sorted(timers.items())}


def due_timers(ctx: DeviceContext, now: float) -> dict[str, dict[str, Any]]:
    """The sleep timers due at ``now`` (epoch seconds), for the scheduler. Not a remote function."""
    return {name: view(timer, now) for name, timer in sorted(SleepTimers(ctx.state_dir).due(now).items())}


def available(ctx: DeviceContext) -> Availability:
    """Always available: real acts through the helper, or the recording simulator (with the reason)."""
    choice = choose(ctx, "power", SIMULATOR)
    try:
        backend = _backend(ctx)
    except InvalidArguments as exc:
        return Availability.no(str(exc))
    return Availability(True, choice.reason, backend.name)


MODULE = ModuleSpec(
    name="power",
    functions={"status": status, "reboot": reboot, "shutdown": shutdown, "sleep": sleep,
               "sleep_timer": sleep_timer},
    available=available,
    doc=__doc__ or "",
    idempotent=frozenset({"status"}),
)
