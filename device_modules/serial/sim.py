"""The ``serial`` simulator: every logical port name is its own pyserial ``loop://``.

What the module writes comes back as what the "device" sent (an echo device).
Paths and URLs still open for real, so a test can point the simulator at a
socat pty pair. Test verb: :func:`feed` makes the device send bytes unasked.
"""

from __future__ import annotations

from typing import Any

from device_modules.context import DeviceContext
from device_modules.errors import DeviceError
from device_modules.serial.backend import RESOURCE, Location, SerialPort
from device_modules.serial.linux import LinuxSerial, is_logical

__all__ = ["SimSerial", "feed"]


class SimSerial(LinuxSerial):
    """:class:`LinuxSerial` with logical names turned into ``loop://`` echo ports."""

    name = "sim"

    def locate(self, port: str) -> Location:
        if isinstance(port, str) and is_logical(port):
            return Location(name=port, key=f"sim:{port}", url="loop://")
        return super().locate(port)

    def ports(self) -> list[dict[str, Any]]:
        sims = [{"device": name, "description": "simulated echo port (loop://)", "hwid": "sim"}
                for name in sorted(self.aliases)]
        return sims + [p for p in super().ports() if p["hwid"] != "n/a"]


def feed(ctx: DeviceContext, port: str, data: bytes) -> None:
    """Test verb: the simulated device on ``port`` sends ``data`` (read by the next read or query)."""
    backend = ctx.resources.get(RESOURCE, lambda: SimSerial(ctx.module_config("serial").get("ports")))
    if not isinstance(backend, SimSerial):
        raise DeviceError(f"the serial backend here is {backend.name!r}, not the simulator")
    where = backend.locate(port)
    if where.url != "loop://":
        raise DeviceError(f"{port} is not a simulated port")
    handle: SerialPort = ctx.resources.get(f"serial:{where.key}", lambda: backend.open(where, 9600))
    handle.write(data)
