"""What the board says about its power and heat: uptime, firmware throttle flags, CPU temperature.

Each reader takes ``root`` (the directory standing for ``/``) and answers
``(value, None)`` or ``(None, reason)``, so ``power.status`` can say why a
value is missing. No subprocess: the Pi firmware's ``get_throttled`` is the
number ``vcgencmd get_throttled`` prints, read from sysfs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from device_modules.hardware import under

__all__ = ["THROTTLED_PATHS", "cpu_temp", "decode_throttled", "throttled", "uptime"]

THROTTLED_PATHS = (
    "sys/devices/platform/soc/soc:firmware/get_throttled",
    "sys/devices/platform/soc@107c000000/soc@107c000000:firmware/get_throttled",  # Pi 5
)
THERMAL = "sys/class/thermal/thermal_zone0/temp"

# Bits 0-3 are the state now; the same flags shifted by 16 say "has happened since boot".
_FLAGS = {"undervoltage": 0, "freq_capped": 1, "throttled": 2, "soft_temp_limit": 3}


def _text(root: Path, path: str) -> tuple[str | None, str | None]:
    try:
        return under(root, path).read_text().strip(), None
    except FileNotFoundError:
        return None, f"/{path} is missing"
    except OSError as exc:
        return None, f"/{path} cannot be read: {exc.strerror or exc}"


def uptime(root: Path) -> tuple[float | None, str | None]:
    """Seconds since boot, from ``/proc/uptime``."""
    text, why = _text(root, "proc/uptime")
    if text is None:
        return None, why
    try:
        return float(text.split()[0]), None
    except (IndexError, ValueError):
        return None, f"/proc/uptime is not understood: {text[:40]!r}"


def cpu_temp(root: Path) -> tuple[float | None, str | None]:
    """CPU temperature in °C, from thermal zone 0 (millidegrees)."""
    text, why = _text(root, THERMAL)
    if text is None:
        return None, why
    try:
        return round(int(text) / 1000.0, 1), None
    except ValueError:
        return None, f"/{THERMAL} is not understood: {text[:40]!r}"


def decode_throttled(value: int) -> dict[str, Any]:
    """The firmware's throttle word as ``undervoltage``/``throttling`` flags, now and since boot."""

    def flag(name: str) -> dict[str, bool]:
        bit = _FLAGS[name]
        return {"now": bool(value >> bit & 1), "since_boot": bool(value >> (bit + 16) & 1)}

    return {
        "undervoltage": flag("undervoltage"),
        "throttling": {
            **flag("throttled"),
            "freq_capped": flag("freq_capped"),
            "soft_temp_limit": flag("soft_temp_limit"),
            "raw": f"0x{value:x}",
        },
    }


def throttled(root: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The decoded firmware throttle word, where the firmware reports one."""
    for path in THROTTLED_PATHS:
        text, _ = _text(root, path)
        if text is not None:
            try:
                return decode_throttled(int(text.removeprefix("0x"), 16)), None
            except ValueError:
                return None, f"/{path} is not understood: {text[:40]!r}"
    return None, f"no Raspberry Pi firmware throttle report (/{THROTTLED_PATHS[0]} is missing)"
