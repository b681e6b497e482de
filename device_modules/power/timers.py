"""Sleep timers: named deadlines after which the device should go to sleep.

AutoPi's ``power.sleep_timer`` keeps them as transient schedule entries; here
they are a small JSON file (``<state_dir>/power_sleep_timers.json``) that
``power.sleep_timer`` edits and the scheduler polls through :func:`due`. Time
is always passed in. Writes are atomic (temporary file, fsync, rename) and
serialised across processes with ``flock`` on a lock file beside it.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from device_modules.errors import DeviceIOError, InvalidArguments

__all__ = ["FILE", "SleepTimers", "view"]

FILE = "power_sleep_timers.json"


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")


def view(timer: dict[str, Any], now: float) -> dict[str, Any]:
    """A stored timer as ``sleep_timer`` answers it."""
    return {
        "created": _iso(timer["created"]),
        "expires": _iso(timer["expires"]),
        "period": timer["period"],
        "reason": timer.get("reason"),
        "due": timer["expires"] <= now,
    }


class SleepTimers:
    """The timer file of one device."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / FILE

    @contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock = open(self.path.with_suffix(".lock"), "a")  # closed in the finally below
        except OSError as exc:
            raise DeviceIOError(f"sleep timers in {self.path.parent}: {exc}") from exc
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
        finally:
            lock.close()

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise DeviceIOError(f"{self.path} cannot be read: {exc}") from exc
        timers = data.get("timers") if isinstance(data, dict) else None
        if not isinstance(timers, dict):
            raise DeviceIOError(f"{self.path} holds no timers table")
        return timers

    def _save(self, timers: dict[str, dict[str, Any]]) -> None:
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w") as out:
            json.dump({"version": 1, "timers": timers}, out, indent=1, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)

    def load(self) -> dict[str, dict[str, Any]]:
        """Every timer, as stored (epoch seconds)."""
        with self._locked():
            return self._load()

    def change(self, now: float, add: str | None = None, clear: str | None = None, period: float = 1800,
               reason: str | None = None) -> dict[str, dict[str, Any]]:
        """Clear ``clear`` (a name or ``*``), then add or restart ``add``; every timer afterwards.

        Raises:
            InvalidArguments: a bad name, or clearing a timer that does not exist.
        """
        for name in (add, clear):
            if name is not None and (not isinstance(name, str) or not name.strip()):
                raise InvalidArguments(f"a timer name must be non-empty text, not {name!r}")
        if add == "*":
            raise InvalidArguments("'*' means every timer; it cannot name one")
        with self._locked():
            timers = self._load()
            if clear == "*":
                timers.clear()
            elif clear is not None:
                if clear not in timers:
                    raise InvalidArguments(f"no sleep timer named {clear!r}")
                del timers[clear]
            if add is not None:
                timers[add] = {"created": now, "expires": now + period, "period": period, "reason": reason}
            try:
                self._save(timers)
            except OSError as exc:
                raise DeviceIOError(f"{self.path} cannot be written: {exc}") from exc
            return timers

    def due(self, now: float) -> dict[str, dict[str, Any]]:
        """The timers whose deadline is ``now`` or earlier."""
        return {name: t for name, t in self.load().items() if t["expires"] <= now}
