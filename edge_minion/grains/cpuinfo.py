"""Parsing ``/proc/cpuinfo``: ``key : value`` lines, per processor and per board."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edge_minion.grains.files import read_text


@dataclass(frozen=True)
class CpuInfo:
    """The ``key : value`` pairs of ``/proc/cpuinfo`` in file order (keys repeat per processor)."""

    entries: tuple[tuple[str, str], ...]

    def first(self, key: str) -> str | None:
        """The first non-empty value of ``key`` (``None`` when absent)."""
        for name, value in self.entries:
            if name == key and value:
                return value
        return None

    def count(self, key: str) -> int:
        """How many lines carry ``key`` (``processor`` counts the CPUs)."""
        return sum(1 for name, _ in self.entries if name == key)


def parse_cpuinfo(text: str) -> CpuInfo:
    """Split each ``key<tabs> : value`` line; lines without a colon are ignored."""
    entries = []
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            entries.append((key.strip(), value.strip()))
    return CpuInfo(tuple(entries))


def read_cpuinfo(root: Path) -> CpuInfo:
    """``/proc/cpuinfo`` under ``root``.

    Raises:
        FileNotFoundError: there is no ``/proc/cpuinfo``.
    """
    text = read_text(root, "/proc/cpuinfo")
    if text is None:
        raise FileNotFoundError(f"no /proc/cpuinfo under {root}")
    return parse_cpuinfo(text)
