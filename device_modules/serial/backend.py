"""What the ``serial`` functions need from a port backend.

A backend turns the name a caller gives (``/dev/ttyUSB0``, ``socket://host:4000``,
an alias such as ``obd``) into a place to open, opens it, and lists the ports
it knows. The open handle is pyserial's (``serial_for_url``); :class:`SerialPort`
is the part of its API the module uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["RESOURCE", "Location", "SerialBackend", "SerialPort"]

#: ``ctx.resources`` key of the process's serial backend; handles live under ``serial:<key>``.
RESOURCE = "serial"


@dataclass(frozen=True)
class Location:
    """Where a port name leads: ``key`` names the one handle (and lock), ``url`` is what pyserial opens."""

    name: str
    key: str
    url: str

    @property
    def label(self) -> str:
        """The name as given, with what it stands for when that differs (for messages)."""
        return self.name if self.name in (self.key, self.url) else f"{self.name} ({self.url})"


class SerialPort(Protocol):
    """The pyserial handle calls the module makes."""

    baudrate: int
    timeout: float | None
    write_timeout: float | None

    @property
    def in_waiting(self) -> int: ...

    def write(self, data: bytes) -> int | None: ...

    def flush(self) -> None: ...

    def read(self, size: int = 1) -> bytes: ...

    def read_until(self, expected: bytes = b"\n", size: int | None = None) -> bytes: ...

    def reset_input_buffer(self) -> None: ...

    def close(self) -> None: ...


class SerialBackend(Protocol):
    """Resolves, opens and lists ports."""

    name: str

    def locate(self, port: str) -> Location:
        """Where ``port`` leads.

        Raises:
            DeviceIOError: no such port ("no such port: ...").
        """
        ...

    def open(self, where: Location, baudrate: int) -> SerialPort:
        """Open ``where`` exclusively.

        Raises:
            DeviceIOError: no such port; DeviceBusy: another process holds it.
        """
        ...

    def ports(self) -> list[dict[str, Any]]:
        """Every port found: ``{"device", "description", "hwid"}``."""
        ...
