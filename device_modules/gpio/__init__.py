"""``gpio.*``: read, drive, pulse and watch the Pi's GPIO pins through gpiozero.

Pins are BCM numbers (``17``) or any name gpiozero knows for this board:
``"GPIO17"``, ``"BCM17"``, ``"BOARD11"``, ``"J8:11"`` (case does not matter).
Answers name pins canonically (``"GPIO17"``).

Backend: gpiozero's default pin factory on a Pi (``hardware: real``), its
``MockFactory`` otherwise (``hardware: sim``, or ``auto`` off a Pi). The
process owns one factory; each call holds the pin's lock, so two jobs on the
same pin run one after the other. Config section ``gpio:``::

    hardware: auto | real | sim
    pin_factory: lgpio        # optional; gpiozero's choice when absent
    revision: a02082          # simulator only: the Pi revision it pretends to be
"""

from __future__ import annotations

import math
import time
from typing import Any

from device_modules.context import DeviceContext
from device_modules.errors import DeviceTimeout, InvalidArguments, ModuleUnavailable
from device_modules.gpio.backend import RESOURCE, Edge, GpioBackend
from device_modules.hardware import choose
from device_modules.spec import Availability, ModuleSpec

__all__ = ["MODULE", "pins", "pulse", "pwm", "read", "toggle", "wait_for_edge", "write"]

SIMULATOR = "the gpiozero MockFactory simulator"
MAX_PULSE_SECONDS = 3600.0
EDGES = ("rising", "falling", "both")


def _backend(ctx: DeviceContext) -> GpioBackend:
    config = ctx.module_config("gpio")
    if choose(ctx, "gpio", SIMULATOR).mode == "sim":
        from device_modules.gpio.sim import open_sim

        return ctx.resources.get(RESOURCE, lambda: open_sim(config.get("revision")))
    from device_modules.gpio.linux import open_default

    return ctx.resources.get(RESOURCE, lambda: open_default(config))


def _seconds(name: str, value: float, *, zero_ok: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidArguments(f"{name} must be a number of seconds, not {value!r}")
    if value < 0 or (value == 0 and not zero_ok):
        raise InvalidArguments(f"{name} must be {'at least' if zero_ok else 'more than'} 0, not {value}")
    return float(value)


def _level(value: float) -> int | float:
    return int(value) if value in (0.0, 1.0) else value


def read(ctx: DeviceContext, pin: int | str) -> dict[str, Any]:
    """Read a pin: its level (0/1), or its duty cycle when it runs PWM.

    An unused pin becomes an input; an output is read back without changing it.

    CLI Example:

    .. code-block:: bash

        salt '*' gpio.read 17
        salt '*' gpio.read BOARD11
    """
    backend = _backend(ctx)
    name = backend.resolve(pin)
    with ctx.resources.lock(f"gpio:{name}"):
        value = backend.read(name)
        return {"pin": name, "mode": backend.mode(name), "value": _level(value)}


def write(ctx: DeviceContext, pin: int | str, value: bool | int) -> dict[str, Any]:
    """Make ``pin`` an output and drive it high (``1``/``True``) or low (``0``/``False``).

    Ends PWM on the pin if it was running.

    CLI Example:

    .. code-block:: bash

        salt '*' gpio.write 17 1
    """
    if value not in (0, 1):
        raise InvalidArguments(f"value must be 0 or 1 (or True/False), not {value!r}")
    backend = _backend(ctx)
    name = backend.resolve(pin)
    with ctx.resources.lock(f"gpio:{name}"):
        backend.write(name, bool(value))
        return {"pin": name, "value": int(value)}


def toggle(ctx: DeviceContext, pin: int | str) -> dict[str, Any]:
    """Invert an output (an unused pin counts as a low output); answers the new level.

    A PWM pin stops: low if it was running a duty cycle above 0, else high.

    CLI Example:

    .. code-block:: bash

        salt '*' gpio.toggle 17
    """
    backend = _backend(ctx)
    name = backend.resolve(pin)
    with ctx.resources.lock(f"gpio:{name}"):
        mode = backend.mode(name)
        if mode == "input":
            raise InvalidArguments(f"{name} is an input; only an output can be toggled")
        new = mode is None or backend.read(name) == 0
        backend.write(name, new)
        return {"pin": name, "value": int(new)}


def pulse(ctx: DeviceContext, pin: int | str, duration: float = 0.1, count: int = 1,
          off_time: float | None = None) -> dict[str, Any]:
    """Flip an output for ``duration`` seconds, ``count`` times, resting ``off_time`` between.

    The pin starts from its current level (an unused pin: low, so the pulses go
    high) and ends there. ``off_time`` defaults to ``duration``. Blocks until done.

    CLI Example:

    .. code-block:: bash

        salt '*' gpio.pulse 17 duration=0.5 count=3
    """
    on = _seconds("duration", duration, zero_ok=False)
    off = on if off_time is None else _seconds("off_time", off_time)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise InvalidArguments(f"count must be a whole number of at least 1, not {count!r}")
    if count * on + (count - 1) * off > MAX_PULSE_SECONDS:
        raise InvalidArguments(f"pulses would take over {MAX_PULSE_SECONDS:.0f} s")
    backend = _backend(ctx)
    name = backend.resolve(pin)
    with ctx.resources.lock(f"gpio:{name}"):
        mode = backend.mode(name)
        if mode == "input":
            raise InvalidArguments(f"{name} is an input; only an output can be pulsed")
        rest = mode == "output" and backend.read(name) == 1
        for i in range(count):
            backend.write(name, not rest)
            time.sleep(on)
            backend.write(name, rest)
            if i < count - 1:
                time.sleep(off)
        return {"pin": name, "count": count, "duration": on, "off_time": off, "value": int(rest)}


def wait_for_edge(ctx: DeviceContext, pin: int | str, edge: str = "rising",
                  timeout: float = 10.0) -> dict[str, Any]:
    """Make ``pin`` an input and wait for a ``rising``, ``falling`` or ``both`` edge.

    Answers ``{"pin", "edge", "value", "waited"}``: the edge seen, the new level
    and the seconds waited.

    Raises:
        DeviceTimeout: no such edge within ``timeout`` seconds.

    CLI Example:

    .. code-block:: bash

        salt '*' gpio.wait_for_edge 4 edge=falling timeout=30
    """
    if edge not in EDGES:
        raise InvalidArguments(f"edge must be one of {', '.join(EDGES)}, not {edge!r}")
    limit = _seconds("timeout", timeout)
    wanted: Edge = edge  # type: ignore[assignment]  # checked against EDGES above
    backend = _backend(ctx)
    name = backend.resolve(pin)
    with ctx.resources.lock(f"gpio:{name}"):
        if backend.mode(name) in ("output", "pwm"):
            raise InvalidArguments(f"{name} is an output; edges are watched on inputs")
        started = time.monotonic()
        level = backend.wait_for_edge(name, wanted, limit)
        waited = time.monotonic() - started
    if level is None:
        raise DeviceTimeout(f"no {edge} edge on {name} within {limit:g} s")
    return {"pin": name, "edge": "rising" if level else "falling", "value": level, "waited": round(waited, 4)}


def pwm(ctx: DeviceContext, pin: int | str, duty_cycle: float, frequency: float = 100.0) -> dict[str, Any]:
    """Run PWM on ``pin``: ``frequency`` Hz, high ``duty_cycle`` (0.0 to 1.0) of each period.

    ``gpio.write`` on the pin stops it.

    CLI Example:

    .. code-block:: bash

        salt '*' gpio.pwm 18 0.25 frequency=1000
    """
    if isinstance(duty_cycle, bool) or not isinstance(duty_cycle, int | float) or not 0 <= duty_cycle <= 1:
        raise InvalidArguments(f"duty_cycle must be between 0.0 and 1.0, not {duty_cycle!r}")
    freq = _seconds("frequency", frequency, zero_ok=False)
    backend = _backend(ctx)
    name = backend.resolve(pin)
    with ctx.resources.lock(f"gpio:{name}"):
        backend.pwm(name, float(duty_cycle), freq)
        return {"pin": name, "duty_cycle": float(duty_cycle), "frequency": freq}


def pins(ctx: DeviceContext) -> dict[str, dict[str, Any]]:
    """Every pin this process has used, with its mode, level and header position.

    CLI Example:

    .. code-block:: bash

        salt '*' gpio.pins
    """
    return _backend(ctx).describe()


def available(ctx: DeviceContext) -> Availability:
    """Real pins on a Pi, the mock factory elsewhere (with the reason).

    The simulator is not built here: importing gpiozero costs memory a minion
    that never touches a pin should not pay, so it happens at the first call.
    """
    import importlib.util

    if importlib.util.find_spec("gpiozero") is None:
        return Availability.no("gpiozero is not installed")
    choice = choose(ctx, "gpio", SIMULATOR)
    if choice.mode == "sim":
        return Availability(True, choice.reason, "sim")
    try:
        backend = _backend(ctx)
    except ModuleUnavailable as exc:
        return Availability.no(exc.reason)
    return Availability(True, choice.reason, backend.name)


MODULE = ModuleSpec(
    name="gpio",
    functions={
        "read": read,
        "write": write,
        "toggle": toggle,
        "pulse": pulse,
        "wait_for_edge": wait_for_edge,
        "pwm": pwm,
        "pins": pins,
    },
    available=available,
    doc=__doc__ or "",
    idempotent=frozenset({"read", "write", "pwm", "pins"}),
)
