"""Real serial ports through pyserial's ``serial_for_url``, opened exclusively.

Port names: a device path (``/dev/ttyUSB0``), a pyserial URL (``socket://``,
``rfc2217://``, ``loop://``...), an alias from ``serial: {ports: {obd: /dev/serial0}}``,
or a bare device name (``ttyUSB0`` means ``/dev/ttyUSB0``). pyserial is imported
inside the functions.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from device_modules.errors import DeviceBusy, DeviceError, DeviceIOError, DeviceTimeout, InvalidArguments
from device_modules.serial.backend import Location, SerialPort

__all__ = ["LinuxSerial", "is_logical", "serial_errors"]

_LOGICAL = re.compile(r"^[A-Za-z_][\w.-]*$")
_BUSY = {errno.EAGAIN, errno.EWOULDBLOCK, errno.EBUSY}
_MISSING = {errno.ENOENT, errno.ENODEV, errno.ENXIO}


def is_logical(port: str) -> bool:
    """A name rather than a path or URL (``obd``, ``modem``, ``ttyUSB0``)."""
    return bool(_LOGICAL.match(port))


@contextmanager
def serial_errors(port: str) -> Iterator[None]:
    """Turn pyserial's and the OS's errors on ``port`` into device errors, keeping the cause."""
    import serial

    try:
        yield
    except DeviceError:
        raise
    except serial.SerialTimeoutException as exc:
        raise DeviceTimeout(f"{port}: write timed out") from exc
    except (serial.SerialException, OSError) as exc:
        code = getattr(exc, "errno", None)
        if code in _BUSY:
            raise DeviceBusy(f"{port} is busy: another process holds it ({exc})") from exc
        if code in _MISSING:
            raise DeviceIOError(f"no such port: {port}") from exc
        if code == errno.EACCES:
            raise DeviceIOError(f"{port}: permission denied (is the minion in the dialout group?)") from exc
        raise DeviceIOError(f"{port}: {exc}") from exc


class LinuxSerial:
    """The real :class:`~device_modules.serial.backend.SerialBackend`."""

    name = "linux"

    def __init__(self, aliases: Mapping[str, str] | None = None, dev: Path = Path("/dev")) -> None:
        self.aliases = dict(aliases or {})
        self.dev = dev

    def locate(self, port: str) -> Location:
        if not isinstance(port, str) or not port.strip():
            raise InvalidArguments(f"a port is a device path, URL or alias, not {port!r}")
        target = self.aliases.get(port, port)
        if is_logical(target):
            device = self.dev / target
            if not device.exists():
                raise DeviceIOError(f"no such port: {port}")
            target = str(device)
        return Location(name=port, key=target, url=target)

    def open(self, where: Location, baudrate: int) -> SerialPort:
        import serial

        with serial_errors(where.label):
            try:
                handle: SerialPort = serial.serial_for_url(
                    where.url, baudrate=baudrate, timeout=1.0, write_timeout=5.0, exclusive=True)
            except ValueError as exc:
                raise InvalidArguments(f"cannot open {where.label}: {exc}") from exc
        return handle

    def ports(self) -> list[dict[str, Any]]:
        from serial.tools import list_ports

        found = [{"device": p.device, "description": p.description, "hwid": p.hwid}
                 for p in sorted(list_ports.comports(), key=lambda p: p.device)]
        found += [{"device": alias, "description": f"alias of {target}", "hwid": "n/a"}
                  for alias, target in sorted(self.aliases.items())]
        return found
