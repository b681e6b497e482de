"""CPU grains: ``cpuarch`` (uname machine), ``cpu_model``, ``num_cpus``, ``cpu_flags``.

``cpu_model`` is the first of ``/proc/cpuinfo``'s ``model name`` (x86, 32-bit
ARM kernels), ``Processor`` (old ARM kernels), ``Model`` (the board name that
64-bit Raspberry Pi kernels print instead) and ``Hardware`` ("BCM2835", which
every Pi reports whatever its SoC), then the core named by an ARM ``CPU part``
(generic arm64 kernels print nothing else); ``"Unknown"`` when none is there.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from edge_minion.grains.cpuinfo import read_cpuinfo
from edge_minion.grains.kernel import Uname

_MODEL_KEYS = ("model name", "Processor", "Model", "Hardware")

#: ``CPU part`` of the cores Raspberry Pis use (implementer 0x41, Arm Ltd).
_ARM_PARTS = {"0xb76": "ARM1176", "0xc07": "Cortex-A7", "0xd03": "Cortex-A53", "0xd08": "Cortex-A72",
              "0xd0b": "Cortex-A76"}


def _arm_core(implementer: str | None, part: str | None) -> str | None:
    if implementer != "0x41" or part is None:
        return None
    name = _ARM_PARTS.get(part.lower())
    return f"ARM {name}" if name else None


def grains(root: Path = Path("/"), uname: Uname | None = None) -> dict[str, Any]:
    """CPU grains from ``root``'s ``/proc/cpuinfo`` and the machine type from ``uname``.

    Raises:
        FileNotFoundError: there is no ``/proc/cpuinfo``.
    """
    info = read_cpuinfo(root)
    model = (next((value for key in _MODEL_KEYS if (value := info.first(key))), None)
             or _arm_core(info.first("CPU implementer"), info.first("CPU part")) or "Unknown")
    # Old ARMv6 kernels print one "Processor" line and no "processor : N" lines.
    num_cpus = info.count("processor") or (1 if info.first("Processor") else 0)
    flags = info.first("flags") or info.first("Features") or ""
    machine = (uname if uname is not None else os.uname()).machine
    return {"cpuarch": machine, "cpu_model": model, "num_cpus": num_cpus, "cpu_flags": flags.split()}
