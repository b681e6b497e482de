"""Errors raised by device modules.

Tree::

    DeviceError
    ├── ModuleUnavailable          the module cannot run here (driver or hardware absent)
    ├── FunctionUnavailable        no such function (Salt's "'x.y' is not available.")
    ├── InvalidArguments (TypeError)   arguments do not bind to the function's signature
    ├── ConfirmationRequired       a disruptive call made without ``confirm=True``
    ├── DeviceIOError (OSError)    the device answered badly or the port failed
    │   └── DeviceBusy             another process holds the port
    └── DeviceTimeout (TimeoutError)   the device did not answer in time

Every error a module raises for a reason the caller can act on derives from
:class:`DeviceError`; the registry turns it into an error return. Anything else
is a bug in the module and is returned with its traceback logged.
"""

from __future__ import annotations


class DeviceError(Exception):
    """Root of every error a device module raises on purpose."""


class ModuleUnavailable(DeviceError):
    """The module cannot run on this device; ``reason`` says why."""

    def __init__(self, module: str, reason: str) -> None:
        super().__init__(f"module '{module}' is unavailable: {reason}")
        self.module = module
        self.reason = reason


class FunctionUnavailable(DeviceError):
    """No function of that name is registered."""

    def __init__(self, fun: str, reason: str | None = None) -> None:
        msg = f"'{fun}' is not available."
        if reason:
            msg = f"{msg} ({reason})"
        super().__init__(msg)
        self.fun = fun
        self.reason = reason


class InvalidArguments(DeviceError, TypeError):
    """The arguments given do not fit the function's signature or types."""


class ConfirmationRequired(DeviceError):
    """A disruptive action was requested without ``confirm=True``."""


class DeviceIOError(DeviceError, OSError):
    """The hardware or its adapter failed or answered with an error."""


class DeviceBusy(DeviceIOError):
    """The port is held by another process."""


class DeviceTimeout(DeviceError, TimeoutError):
    """The hardware did not answer within the allowed time."""
