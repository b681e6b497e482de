"""Kernel grains from ``uname``: ``kernel``, ``kernelrelease``, ``kernelversion``."""

from __future__ import annotations

import os
from typing import Any, Protocol


class Uname(Protocol):
    """What the grains read of ``os.uname()`` (tests pass a NamedTuple)."""

    @property
    def sysname(self) -> str: ...

    @property
    def nodename(self) -> str: ...

    @property
    def release(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def machine(self) -> str: ...


def grains(uname: Uname | None = None) -> dict[str, Any]:
    """``kernel`` ("Linux"), ``kernelrelease`` ("6.6.31+rpt-rpi-v8"), ``kernelversion`` ("#1 SMP ...")."""
    info = uname if uname is not None else os.uname()
    return {"kernel": info.sysname, "kernelrelease": info.release, "kernelversion": info.version}
