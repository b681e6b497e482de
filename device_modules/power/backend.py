"""What the ``power`` functions need from a backend: the three disruptive acts.

Readings (uptime, throttling, temperature) are files under ``root`` and need
no backend (:mod:`device_modules.power.readings`). A backend only reboots,
powers off and sets the RTC wake alarm: the real one through a narrow
privileged helper, the simulator by writing down what it was asked.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["RESOURCE", "PowerBackend"]

#: ``ctx.resources`` key of the process's power backend (and of the lock around its acts).
RESOURCE = "power"


class PowerBackend(Protocol):
    """Reboot, power off, set a wake alarm."""

    name: str

    def reboot(self, delay: float) -> None:
        """Reboot in ``delay`` seconds (0: now).

        Raises:
            DeviceIOError: the helper is missing or failed.
        """
        ...

    def poweroff(self, delay: float) -> None:
        """Power off in ``delay`` seconds (0: now)."""
        ...

    def set_wake_alarm(self, seconds: int) -> None:
        """Make the RTC wake the board ``seconds`` from now."""
        ...

    def no_wake_alarm(self) -> str | None:
        """Why this board cannot be woken by its RTC, or ``None`` when it can."""
        ...
