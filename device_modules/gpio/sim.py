"""The ``gpio`` simulator: gpiozero's ``MockFactory`` with PWM-capable mock pins.

The process owns one factory (in ``ctx.resources``), never gpiozero's global
``Device.pin_factory``. Tests act as the outside world through the verbs
:func:`drive_high` and :func:`drive_low` (a button, a sensor line) and read
what the module did through :func:`history`.
"""

from __future__ import annotations

from typing import Any

from device_modules.context import DeviceContext
from device_modules.errors import DeviceError, InvalidArguments
from device_modules.gpio.backend import RESOURCE
from device_modules.gpio.linux import FactoryPins

__all__ = ["SimPins", "drive_high", "drive_low", "history", "open_sim"]


class SimPins(FactoryPins):
    """:class:`FactoryPins` over a ``MockFactory`` (board revision ``revision``, default a Pi 3B)."""

    def drive(self, pin: str, value: bool) -> None:
        """Drive the input ``pin`` from outside, firing edge callbacks."""
        p = self._pin(pin)
        if p.function != "input":
            raise InvalidArguments(f"{pin} is an output; only an input can be driven from outside")
        self._used.add(pin)
        if value:
            p.drive_high()
        else:
            p.drive_low()

    def states(self, pin: str) -> list[tuple[float, float]]:
        """``(seconds since the previous change, level)`` for each change of ``pin``."""
        return [(float(s.timestamp), float(s.state)) for s in self._pin(pin).states]


def open_sim(revision: str | None = None) -> SimPins:
    from gpiozero.pins.mock import MockFactory, MockPWMPin

    return SimPins(MockFactory(revision=revision, pin_class=MockPWMPin), "sim")


def _sim(ctx: DeviceContext) -> SimPins:
    backend: Any = ctx.resources.get(RESOURCE, lambda: open_sim(ctx.module_config("gpio").get("revision")))
    if not isinstance(backend, SimPins):
        raise DeviceError(f"the gpio backend here is {backend.name!r}, not the simulator")
    return backend


def drive_high(ctx: DeviceContext, pin: int | str) -> None:
    """Test verb: the outside world pulls input ``pin`` high."""
    sim = _sim(ctx)
    sim.drive(sim.resolve(pin), True)


def drive_low(ctx: DeviceContext, pin: int | str) -> None:
    """Test verb: the outside world pulls input ``pin`` low."""
    sim = _sim(ctx)
    sim.drive(sim.resolve(pin), False)


def history(ctx: DeviceContext, pin: int | str) -> list[tuple[float, float]]:
    """Test verb: the changes of ``pin`` so far (gpiozero ``MockPin.states``)."""
    sim = _sim(ctx)
    return sim.states(sim.resolve(pin))
