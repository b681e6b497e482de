"""The scheduler's clocks: wall time for calendars and jids, boot time for intervals.

``mono`` is CLOCK_BOOTTIME where the system has it (Linux): monotonic, untouched
by NTP steps and by a Pi booting with a stale date, and still counting while the
device is suspended, so a slept-through interval is seen as missed. ``boot_id``
tells whether a monotonic reading persisted earlier is still comparable.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from pathlib import Path

__all__ = ["Clock", "SystemClock"]

_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


class Clock(ABC):
    """What the runner asks for the time; tests pass a subclass they move by hand."""

    @abstractmethod
    def wall(self) -> float:
        """Seconds since the epoch."""

    @abstractmethod
    def mono(self) -> float:
        """Seconds on a clock that never goes back."""

    def boot_id(self) -> str:
        """An id of this boot ("" when unknown: persisted monotonic readings are then ignored)."""
        return ""


class SystemClock(Clock):
    def __init__(self) -> None:
        self._mono_id = getattr(time, "CLOCK_BOOTTIME", None)

    def wall(self) -> float:
        return time.time()

    def mono(self) -> float:
        if self._mono_id is not None:
            return time.clock_gettime(self._mono_id)
        return time.monotonic()

    def boot_id(self) -> str:
        try:
            return _BOOT_ID.read_text().strip()
        except OSError:
            return ""
