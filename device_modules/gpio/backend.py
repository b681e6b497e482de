"""What the ``gpio`` functions need from a pin backend.

A backend names pins canonically (``"GPIO17"``), reads and drives them, runs
PWM and waits for edges. Both backends are gpiozero pin factories behind
:class:`~device_modules.gpio.linux.FactoryPins`: the real one is gpiozero's
default factory (lgpio, RPi.GPIO, pigpio or native), the simulator its
``MockFactory``. Errors are already :mod:`device_modules.errors` types.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

__all__ = ["RESOURCE", "Edge", "GpioBackend", "Mode"]

#: ``ctx.resources`` key of the process's one pin backend.
RESOURCE = "gpio"

Edge = Literal["rising", "falling", "both"]
Mode = Literal["input", "output", "pwm"]


class GpioBackend(Protocol):
    """One pin factory owned by the process."""

    name: str

    def resolve(self, spec: int | str) -> str:
        """The canonical name (``"GPIO17"``) of a BCM number or board name.

        Raises:
            InvalidArguments: not a GPIO pin on this board.
        """
        ...

    def mode(self, pin: str) -> Mode | None:
        """How ``pin`` is used now, ``None`` when this process never touched it."""
        ...

    def read(self, pin: str) -> float:
        """The level (0 or 1) of an input or output, the duty cycle of a PWM pin.

        An unused pin becomes an input.
        """
        ...

    def write(self, pin: str, value: bool) -> None:
        """Make ``pin`` an output (ending any PWM) and drive it to ``value``."""
        ...

    def pwm(self, pin: str, duty_cycle: float, frequency: float) -> None:
        """Run PWM on ``pin`` at ``frequency`` Hz, high ``duty_cycle`` (0..1) of the time."""
        ...

    def wait_for_edge(self, pin: str, edge: Edge, timeout: float) -> int | None:
        """Make ``pin`` an input and wait for ``edge``; the new level, or ``None`` on timeout."""
        ...

    def describe(self) -> dict[str, dict[str, Any]]:
        """Every pin used: ``{"GPIO17": {"mode", "value", "header_pin", ...}}``."""
        ...

    def close(self) -> None:
        """Release every pin."""
        ...
