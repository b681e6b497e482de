"""The real power backend: a narrow privileged helper command.

Config ``power: {helper: ["sudo", "/usr/lib/edgefleet/power-helper"]}`` makes
every act ``<helper> reboot``, ``<helper> poweroff`` or ``<helper> wakealarm
<seconds>``. Without a helper the acts are ``systemctl reboot``, ``systemctl
poweroff`` and ``rtcwake -m no -s <seconds>``. An act with a delay is left to a
detached ``sh`` that sleeps first, so the job can answer before the board goes
down; an act without one runs now and its failure is reported.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from device_modules.errors import DeviceIOError, DeviceTimeout
from device_modules.hardware import under

__all__ = ["WAKEALARM", "HelperPower"]

WAKEALARM = "sys/class/rtc/rtc0/wakealarm"
_LATER = 'sleep "$1" && shift && exec "$@" &'


class HelperPower:
    """The real :class:`~device_modules.power.backend.PowerBackend`."""

    name = "linux"

    def __init__(self, helper: Sequence[str] | None, root: Path = Path("/"), timeout: float = 30.0) -> None:
        self.helper = list(helper) if helper else None
        self.root = root
        self.timeout = timeout

    def command(self, act: str, *args: str) -> list[str]:
        """The argv that performs ``act`` (``reboot``, ``poweroff``, ``wakealarm``)."""
        if self.helper is not None:
            return [*self.helper, act, *args]
        return {
            "reboot": ["systemctl", "reboot"],
            "poweroff": ["systemctl", "poweroff"],
            "wakealarm": ["rtcwake", "-m", "no", "-s", *args],
        }[act]

    def _run(self, argv: list[str], delay: float) -> None:
        if shutil.which(argv[0]) is None:
            raise DeviceIOError(f"power helper not found: {argv[0]}")
        later = delay > 0
        if later:  # the background sh must not hold our pipes, or run() would wait for it
            argv = ["sh", "-c", _LATER, "edgefleet-power", f"{delay:g}", *argv]
        out = subprocess.DEVNULL if later else subprocess.PIPE
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, text=True,
                                  timeout=self.timeout, start_new_session=later)
        except subprocess.TimeoutExpired as exc:
            raise DeviceTimeout(f"{' '.join(argv)} did not finish in {self.timeout:g} s") from exc
        except OSError as exc:
            raise DeviceIOError(f"{' '.join(argv)}: {exc}") from exc
        if done.returncode != 0:
            detail = (done.stderr or done.stdout or "").strip()[-400:]
            raise DeviceIOError(f"{' '.join(argv)} failed with exit {done.returncode}: {detail}")

    def reboot(self, delay: float) -> None:
        self._run(self.command("reboot"), delay)

    def poweroff(self, delay: float) -> None:
        self._run(self.command("poweroff"), delay)

    def set_wake_alarm(self, seconds: int) -> None:
        self._run(self.command("wakealarm", str(seconds)), 0)

    def no_wake_alarm(self) -> str | None:
        if under(self.root, WAKEALARM).exists():
            return None
        return f"this board has no RTC wake alarm (/{WAKEALARM} is missing)"
