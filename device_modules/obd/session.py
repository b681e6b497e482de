"""The one open connection of a process: a backend plus what the vehicle said it supports.

The handle lives in ``ctx.resources`` under ``"obd"``; :func:`session` holds
the ``"obd"`` lock for the whole call, so two jobs never interleave on the
port, and drops the handle when the port (not the vehicle) failed, so the
next call reconnects.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from device_modules.context import DeviceContext
from device_modules.errors import ConfirmationRequired, InvalidArguments
from device_modules.obd.backend import ObdBackend
from device_modules.obd.decode import answer, answers, supported_from_bitmap
from device_modules.obd.errors import AdapterError, NoData, UnsupportedCommand
from device_modules.obd.settings import open_backend, settings_from

__all__ = ["RESOURCE", "Session", "session"]

RESOURCE = "obd"

#: Errors that say nothing bad about the connection: the handle is kept.
_KEEP_HANDLE = (AdapterError, UnsupportedCommand, InvalidArguments, ConfirmationRequired)


class Session:
    """A backend and the vehicle's supported mode 01 PIDs (read once, from the ``01 00`` bitmaps)."""

    def __init__(self, backend: ObdBackend) -> None:
        self.backend = backend
        self._supported: set[int] | None = None

    def close(self) -> None:
        self.backend.close()

    def forget(self) -> None:
        """Read the bitmaps again next time (after a protocol change or clearing codes)."""
        self._supported = None

    def supported(self) -> set[int]:
        """Mode 01 PIDs any ECU supports, following the chain 00 -> 20 -> 40 ... while announced.

        Raises:
            NoData: the vehicle does not answer ``01 00``.
        """
        if self._supported is None:
            found: set[int] = set()
            base = 0x00
            while base < 0x100:
                try:
                    bitmaps = answers(self.backend.query(0x01, bytes([base])), 0x01, bytes([base]))
                except NoData as exc:
                    if base == 0x00:
                        raise NoData(f"the vehicle does not answer (no supported-PID list): {exc}") from exc
                    break  # announced but not answered: keep what we have
                for _, data in bitmaps:
                    found.update(supported_from_bitmap(base, data))
                if base + 0x20 not in found:
                    break
                base += 0x20
            self._supported = found
        return self._supported

    def read(self, mode: int, pid: bytes, header: str | None = None, force: bool = False) -> bytes:
        """The data of the first positive answer to ``mode`` + ``pid``, after the PID echo.

        A mode 01 PID the vehicle does not list is refused unless ``force``.

        Raises:
            UnsupportedCommand: see above.
            NoData, NegativeResponse, AdapterError: from the vehicle or the adapter.
        """
        if mode == 0x01 and len(pid) == 1 and pid[0] != 0x00 and not force and pid[0] not in self.supported():
            raise UnsupportedCommand(f"the vehicle does not list PID 01{pid.hex().upper()} as supported; "
                                     "force=True sends it anyway")
        return answer(self.backend.query(mode, pid, header), mode, pid)[1]


@contextmanager
def session(ctx: DeviceContext) -> Iterator[Session]:
    """The process's :class:`Session`, opened on first use, held under the ``obd`` lock.

    Raises:
        InvalidArguments: the ``obd:`` config section is wrong.
        DeviceIOError, DeviceTimeout, ModuleUnavailable: the adapter cannot be opened.
    """
    settings = settings_from(ctx.module_config(RESOURCE))
    with ctx.resources.lock(RESOURCE):
        current = ctx.resources.get(RESOURCE, lambda: Session(open_backend(ctx, settings)))
        try:
            yield current
        except _KEEP_HANDLE:
            raise
        except BaseException:
            ctx.log.info("dropping the OBD connection after an error; the next call reconnects")
            ctx.resources.discard(RESOURCE)
            raise
