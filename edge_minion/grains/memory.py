"""Memory grains from ``/proc/meminfo``: ``mem_total`` and ``swap_total`` in MiB (as Salt)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge_minion.grains.files import read_text


def _kib(text: str, key: str) -> int | None:
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip() == key:
            return int(value.split()[0])
    return None


def grains(root: Path = Path("/")) -> dict[str, Any]:
    """``mem_total`` and ``swap_total`` in MiB, rounded down.

    Raises:
        FileNotFoundError: there is no ``/proc/meminfo``.
        ValueError: ``MemTotal`` is missing or not a number.
    """
    text = read_text(root, "/proc/meminfo")
    if text is None:
        raise FileNotFoundError(f"no /proc/meminfo under {root}")
    mem = _kib(text, "MemTotal")
    if mem is None:
        raise ValueError("/proc/meminfo has no MemTotal line")
    return {"mem_total": mem // 1024, "swap_total": (_kib(text, "SwapTotal") or 0) // 1024}
