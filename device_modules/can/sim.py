"""The ``can`` simulator: python-can's in-process ``virtual`` bus.

The process keeps one virtual bus per channel, opened on first use, so frames
sent on that channel by any other virtual bus in the process queue up until a
call reads them. Test verb: :func:`inject` sends a frame from another virtual
bus, as an ECU on the same wire would.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from device_modules.can.backend import RESOURCE, BusConfig
from device_modules.can.frames import message
from device_modules.can.linux import can_errors
from device_modules.context import DeviceContext
from device_modules.errors import DeviceError

if TYPE_CHECKING:
    from can import BusABC
    from can.typechecking import CanFilter

__all__ = ["SimCan", "inject"]


class SimCan:
    """A :class:`~device_modules.can.backend.CanBackend` on virtual buses."""

    name = "sim"

    def __init__(self, config: BusConfig) -> None:
        self.config = BusConfig("virtual", config.channel, config.bitrate, {})
        self._guard = threading.Lock()
        self._buses: dict[str, BusABC] = {}

    def listening(self, channel: str | None = None) -> BusABC:
        """The process's virtual bus on ``channel``, opened now if it was not."""
        import can

        chan = channel or self.config.channel
        with self._guard:
            if chan not in self._buses:
                self._buses[chan] = can.Bus(interface="virtual", channel=chan, receive_own_messages=False)
            return self._buses[chan]

    @contextmanager
    def bus(self, channel: str | None = None,
            filters: list[CanFilter] | None = None) -> Iterator[BusABC]:
        bus = self.listening(channel)
        bus.set_filters(filters)
        try:
            with can_errors(f"CAN virtual {channel or self.config.channel}"):
                yield bus
        finally:
            bus.set_filters(None)

    def close(self) -> None:
        with self._guard:
            buses, self._buses = list(self._buses.values()), {}
        for bus in buses:
            bus.shutdown()


def inject(ctx: DeviceContext, arbitration_id: int | str, data: str = "", is_extended_id: bool | None = None,
           channel: str | None = None) -> None:
    """Test verb: another node on the simulated bus sends a frame (queued for the module's next read)."""
    import can

    from device_modules.can import bus_config

    sim = ctx.resources.get(RESOURCE, lambda: SimCan(bus_config(ctx)))
    if not isinstance(sim, SimCan):
        raise DeviceError(f"the can backend here is {sim.name!r}, not the simulator")
    chan = channel or sim.config.channel
    sim.listening(chan)
    with can.Bus(interface="virtual", channel=chan) as other:
        other.send(message(arbitration_id, data, is_extended_id))

