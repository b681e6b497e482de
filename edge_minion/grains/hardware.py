"""The ``hardware``, ``hardware_reason`` and ``edgefleet_modules`` grains.

``hardware`` is ``"real"`` or ``"sim"``: whether device modules drive real
hardware or their simulated backends. ``auto`` (the default) means real on a
Raspberry Pi and sim anywhere else; ``hardware_reason`` says which rule applied,
so an operator can see from the master why a Pi-less box is simulating.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_SIM_ALIASES = {"sim", "fake"}


def hardware_grains(mode: str, is_raspberry_pi: bool, report: Mapping[str, Any]) -> dict[str, Any]:
    """Grains for the hardware ``mode`` (auto/real/sim) and the device modules' availability ``report``.

    ``report`` maps module name -> ``{"available": bool, "reason": str, "backend": str}``.
    """
    if mode == "real":
        hardware, reason = "real", "hardware: real is configured"
    elif mode in _SIM_ALIASES:
        hardware, reason = "sim", f"hardware: {mode} is configured"
    elif is_raspberry_pi:
        hardware, reason = "real", "hardware: auto, and this is a Raspberry Pi"
    else:
        hardware, reason = "sim", ("hardware: auto, and this is not a Raspberry Pi (neither the device "
                                   "tree nor /proc/cpuinfo names one), so device modules are simulated")
    modules = {name: dict(entry) if isinstance(entry, Mapping) else entry for name, entry in report.items()}
    return {"hardware": hardware, "hardware_reason": reason, "edgefleet_modules": modules}
