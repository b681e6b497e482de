"""The ``power`` simulator: asked to reboot, power off or set a wake alarm, it writes it down.

Each act is appended to :attr:`SimPower.actions` and to
``<state_dir>/power_sim_actions.json``, so a test in another process (a real
minion under test) can read what was requested with :func:`requested`.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from device_modules.errors import DeviceIOError

__all__ = ["FILE", "SimPower", "requested"]

FILE = "power_sim_actions.json"


class SimPower:
    """A :class:`~device_modules.power.backend.PowerBackend` that records instead of acting."""

    name = "sim"

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / FILE
        self.actions: list[dict[str, Any]] = []
        self._guard = threading.Lock()

    def _record(self, action: str, **details: Any) -> None:
        entry = {"action": action, **details, "at": time.time()}
        with self._guard:
            self.actions.append(entry)
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                kept = requested(self.path.parent)
                tmp = self.path.with_suffix(".tmp")
                tmp.write_text(json.dumps([*kept, entry], indent=1))
                os.replace(tmp, self.path)
            except OSError as exc:
                raise DeviceIOError(f"cannot record {action} in {self.path}: {exc}") from exc

    def reboot(self, delay: float) -> None:
        self._record("reboot", delay=delay)

    def poweroff(self, delay: float) -> None:
        self._record("poweroff", delay=delay)

    def set_wake_alarm(self, seconds: int) -> None:
        self._record("wakealarm", seconds=seconds)

    def no_wake_alarm(self) -> str | None:
        return None


def requested(state_dir: Path) -> list[dict[str, Any]]:
    """Test verb: every act the simulator recorded under ``state_dir``, oldest first."""
    try:
        data = json.loads((state_dir / FILE).read_text())
    except FileNotFoundError:
        return []
    return data if isinstance(data, list) else []
