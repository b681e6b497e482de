"""What the ``can`` functions need from a bus backend.

A backend lends out a python-can bus on a channel for the length of one call
(``with backend.bus(channel, filters) as bus``). The real backend opens the
configured interface for each call and shuts it afterwards, so a call sees
what is on the bus now, never frames buffered since the last call; the
simulator keeps one ``virtual`` bus per channel for the life of the process,
so a test can inject frames before the call that reads them.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from can import BusABC
    from can.typechecking import CanFilter

__all__ = ["RESOURCE", "BusConfig", "CanBackend"]

#: ``ctx.resources`` key of the process's CAN backend; locks are ``can:<channel>``.
RESOURCE = "can"


@dataclass(frozen=True)
class BusConfig:
    """The ``can:`` config section: python-can interface, channel, bitrate, extra interface options."""

    interface: str = "socketcan"
    channel: str = "can0"
    bitrate: int | None = 500000
    options: dict[str, Any] = field(default_factory=dict)


class CanBackend(Protocol):
    """Lends a bus per call."""

    name: str
    config: BusConfig

    def bus(self, channel: str | None = None,
            filters: list[CanFilter] | None = None) -> AbstractContextManager[BusABC]:
        """A bus on ``channel`` (default: the configured one) that passes only ``filters``.

        Raises:
            DeviceIOError: the interface cannot be opened or fails.
            ModuleUnavailable: python-can has no such interface here.
        """
        ...

    def close(self) -> None:
        """Shut every bus this backend keeps open."""
        ...
