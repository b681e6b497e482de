"""The real CAN backend: the configured python-can interface, opened for each call.

Interfaces in use: ``socketcan`` (``can0`` on a CAN HAT), ``slcan`` (Lawicel
USB adapters), ``serial`` (python-can's own serial framing), ``udp_multicast``
(between processes) and ``virtual``. python-can is imported inside functions.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from device_modules.can.backend import BusConfig
from device_modules.errors import DeviceError, DeviceIOError, DeviceTimeout, ModuleUnavailable
from device_modules.hardware import under

if TYPE_CHECKING:
    from can import BusABC
    from can.typechecking import CanFilter

__all__ = ["LinuxCan", "can_errors", "missing_interface"]


@contextmanager
def can_errors(where: str) -> Iterator[None]:
    """Turn python-can's and the OS's errors into device errors, keeping the cause."""
    import can

    try:
        yield
    except DeviceError:
        raise
    except can.CanInterfaceNotImplementedError as exc:
        raise ModuleUnavailable("can", f"{where}: {exc}") from exc
    except can.CanTimeoutError as exc:
        raise DeviceTimeout(f"{where}: {exc}") from exc
    except (can.CanError, OSError) as exc:
        if getattr(exc, "errno", None) == errno.ENODEV:
            raise DeviceIOError(f"{where}: no such CAN interface") from exc
        raise DeviceIOError(f"{where}: {exc}") from exc


def missing_interface(config: BusConfig, root: Path) -> str | None:
    """Why the configured interface is not here, or ``None`` when it seems to be."""
    if config.interface == "virtual":
        return "the configured interface is python-can's in-process 'virtual' bus"
    if config.interface == "socketcan":
        if not under(root, f"sys/class/net/{config.channel}").exists():
            return f"no CAN interface {config.channel} (/sys/class/net/{config.channel} missing)"
    elif config.interface in ("slcan", "serial") and "://" not in config.channel:
        if not under(root, config.channel).exists():
            return f"no CAN adapter at {config.channel}"
    return None


class LinuxCan:
    """The real :class:`~device_modules.can.backend.CanBackend`."""

    name = "linux"

    def __init__(self, config: BusConfig) -> None:
        self.config = config

    @contextmanager
    def bus(self, channel: str | None = None,
            filters: list[CanFilter] | None = None) -> Iterator[BusABC]:
        import can

        chan = channel or self.config.channel
        where = f"CAN {self.config.interface} {chan}"
        kwargs = dict(self.config.options)
        if self.config.bitrate is not None:
            kwargs["bitrate"] = self.config.bitrate
        with can_errors(where):
            try:
                bus = can.Bus(interface=self.config.interface, channel=chan, can_filters=filters, **kwargs)
            except (ValueError, TypeError) as exc:
                raise DeviceIOError(f"cannot open {where}: {exc}") from exc
        try:
            with can_errors(where):
                yield bus
        finally:
            bus.shutdown()

    def close(self) -> None:
        """Nothing stays open between calls."""
