"""Errors of the ``obd`` module, all under :class:`~device_modules.errors.DeviceError`.

Tree::

    DeviceError
    ├── UnsupportedCommand            the vehicle's PID bitmaps do not list it (use force=True)
    └── DeviceIOError (OSError)
        └── AdapterError              the adapter or an ECU answered with an error; the port is fine
            ├── NoData                "NO DATA": nothing answered the request
            └── NegativeResponse      an ECU refused: 7F <service> <NRC>

An :class:`AdapterError` leaves the connection usable. Any other
:class:`~device_modules.errors.DeviceIOError` or a
:class:`~device_modules.errors.DeviceTimeout` means the port or the adapter
failed, and the handle is dropped so that the next call reconnects.
"""

from __future__ import annotations

from device_modules.errors import DeviceError, DeviceIOError

__all__ = ["AdapterError", "NegativeResponse", "NoData", "UnsupportedCommand"]


class UnsupportedCommand(DeviceError):
    """The vehicle does not list the PID as supported; ``force=True`` sends it anyway."""


class AdapterError(DeviceIOError):
    """The adapter or the vehicle answered, but with an error (its words are in the message)."""


class NoData(AdapterError):
    """No ECU answered the request ("NO DATA")."""


class NegativeResponse(AdapterError):
    """An ECU answered ``7F <service> <code>``; ``code`` is the ISO 14229 response code."""

    def __init__(self, message: str, ecu: str, service: int, code: int) -> None:
        super().__init__(message)
        self.ecu = ecu
        self.service = service
        self.code = code
