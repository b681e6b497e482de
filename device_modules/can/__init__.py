"""``can.*``: send, receive, watch and record CAN frames with python-can.

Config section ``can:``::

    interface: socketcan | slcan | serial | udp_multicast | virtual   (default socketcan)
    channel: can0              # or /dev/ttyACM0, 239.74.163.2 ...
    bitrate: 500000
    options: {}                # extra keyword arguments for the python-can interface
    hardware: auto | real | sim

Backend: the configured interface, opened for each call (``hardware: real``,
or ``auto`` when the interface exists); otherwise python-can's in-process
``virtual`` bus on the configured channel name. Calls on one channel hold its
lock, so two jobs never read the same bus at once. Frames are answered as
``{"timestamp", "arbitration_id", "is_extended_id", "dlc", "data"}`` with
``data`` in hex.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from device_modules.can.backend import RESOURCE, BusConfig, CanBackend
from device_modules.can.frames import frame, message, parse_filters
from device_modules.context import DeviceContext
from device_modules.errors import DeviceError, DeviceIOError, DeviceTimeout, InvalidArguments, ModuleUnavailable
from device_modules.hardware import choose, module_root
from device_modules.spec import Availability, ModuleSpec

if TYPE_CHECKING:
    from can import Message

__all__ = ["MODULE", "bus_config", "dump", "monitor", "recv", "send", "status"]

SIMULATOR = "python-can's virtual bus"
DEFAULT_DURATION = 10.0
MAX_FRAMES = 100_000
FORMATS = ("asc", "blf", "csv", "log")


def bus_config(ctx: DeviceContext) -> BusConfig:
    """The ``can:`` section as a :class:`BusConfig`.

    Raises:
        ModuleUnavailable: the section is malformed.
    """
    section = ctx.module_config("can")
    bitrate = section.get("bitrate", 500000)
    options = section.get("options") or {}
    if bitrate is not None and (isinstance(bitrate, bool) or not isinstance(bitrate, int) or bitrate <= 0):
        raise ModuleUnavailable("can", f"config can.bitrate must be a positive int, not {bitrate!r}")
    if not isinstance(options, Mapping):
        raise ModuleUnavailable("can", "config can.options must be a mapping")
    return BusConfig(str(section.get("interface", "socketcan")), str(section.get("channel", "can0")),
                     bitrate, dict(options))


def _choose(ctx: DeviceContext, config: BusConfig) -> tuple[str, str]:
    from device_modules.can.linux import missing_interface

    choice = choose(ctx, "can", f"{SIMULATOR} {config.channel!r}", lambda root: missing_interface(config, root))
    return choice.mode, choice.reason


def _backend(ctx: DeviceContext) -> CanBackend:
    config = bus_config(ctx)
    if _choose(ctx, config)[0] == "sim":
        from device_modules.can.sim import SimCan

        return ctx.resources.get(RESOURCE, lambda: SimCan(config))
    from device_modules.can.linux import LinuxCan

    return ctx.resources.get(RESOURCE, lambda: LinuxCan(config))


def _seconds(name: str, value: float | None, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise InvalidArguments(f"{name} must be a number of seconds, at least 0, not {value!r}")
    return float(value)


def _limit(value: int | None) -> int:
    if value is None:
        return MAX_FRAMES
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_FRAMES:
        raise InvalidArguments(f"limit must be a whole number from 1 to {MAX_FRAMES}, not {value!r}")
    return value


def _listen(ctx: DeviceContext, filters: Sequence[Mapping[str, Any]] | None, duration: float, limit: int,
            each: Callable[[Message, float], None]) -> int:
    """Pass each frame to ``each`` until ``limit`` frames or ``duration`` seconds; the count."""
    wanted = parse_filters(filters)
    backend = _backend(ctx)
    count = 0
    with ctx.resources.lock(f"can:{backend.config.channel}"), backend.bus(None, wanted) as bus:
        deadline = time.monotonic() + duration
        while count < limit and (left := deadline - time.monotonic()) > 0:
            msg = bus.recv(timeout=left)
            if msg is None:
                break
            each(msg, time.time())
            count += 1
    return count


def send(ctx: DeviceContext, arbitration_id: int | str, data: str, is_extended_id: bool | None = None,
         channel: str | None = None) -> dict[str, Any]:
    """Send one frame: ``arbitration_id`` as an int or hex text, ``data`` as up to 8 bytes of hex.

    Text is always hex (``"123"`` is 0x123); an int, as a YAML-loading Salt
    master sends it, is taken as it is. ``is_extended_id`` defaults to 29-bit for
    ids above 0x7FF or hex text longer than 3 digits.

    CLI Example:

    .. code-block:: bash

        salt '*' can.send 7DF 02010C
        salt '*' can.send 18DB33F1 02010C00 channel=can1
    """
    msg = message(arbitration_id, data, is_extended_id)
    backend = _backend(ctx)
    chan = channel or backend.config.channel
    with ctx.resources.lock(f"can:{chan}"), backend.bus(chan) as bus:
        bus.send(msg, timeout=1.0)
    return {"channel": chan, "arbitration_id": msg.arbitration_id, "is_extended_id": msg.is_extended_id,
            "dlc": msg.dlc, "data": bytes(msg.data).hex()}


def recv(ctx: DeviceContext, timeout: float = 1.0,
         filters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The next frame (passing ``filters``) to arrive within ``timeout`` seconds.

    ``filters`` are python-can's: ``[{"can_id": 0x7E8, "can_mask": 0x7F8}]``.

    Raises:
        DeviceTimeout: no frame came in time.

    CLI Example:

    .. code-block:: bash

        salt '*' can.recv timeout=5 filters='[{can_id: 0x7E8, can_mask: 0x7F8}]'
    """
    got: list[dict[str, Any]] = []
    limit = _seconds("timeout", timeout, 1.0)
    _listen(ctx, filters, limit, 1, lambda msg, at: got.append(frame(msg, at)))
    if not got:
        raise DeviceTimeout(f"no CAN frame within {limit:g} s")
    return got[0]


def monitor(ctx: DeviceContext, duration: float | None = None, limit: int | None = None,
            filters: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The frames seen for ``duration`` seconds (default 10) or until ``limit`` frames, oldest first.

    CLI Example:

    .. code-block:: bash

        salt '*' can.monitor duration=2
        salt '*' can.monitor limit=50 filters='[{can_id: 0x7E8, can_mask: 0x7F8}]'
    """
    frames: list[dict[str, Any]] = []
    _listen(ctx, filters, _seconds("duration", duration, DEFAULT_DURATION), _limit(limit),
            lambda msg, at: frames.append(frame(msg, at)))
    return frames


def dump(ctx: DeviceContext, path: str, duration: float | None = None, limit: int | None = None,
         format: str = "asc", filters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Record frames to ``path`` with python-can's ``Logger`` (asc, blf, csv or log) for
    ``duration`` seconds (default 10) or ``limit`` frames.

    A relative ``path`` is under the minion's state directory; a missing suffix is
    added from ``format``.

    CLI Example:

    .. code-block:: bash

        salt '*' can.dump /var/log/edgefleet/trip.blf duration=60 format=blf
    """
    import can

    if format not in FORMATS:
        raise InvalidArguments(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
    if not isinstance(path, str) or not path:
        raise InvalidArguments("path must be a file name")
    target = Path(path) if Path(path).is_absolute() else ctx.state_dir / path
    if not target.suffix:
        target = target.with_suffix(f".{format}")
    if target.suffix != f".{format}":
        raise InvalidArguments(f"{target.name} does not end in .{format}")
    seconds, most = _seconds("duration", duration, DEFAULT_DURATION), _limit(limit)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        writer = can.Logger(target)
    except OSError as exc:
        raise DeviceIOError(f"cannot write {target}: {exc}") from exc
    try:
        count = _listen(ctx, filters, seconds, most, lambda msg, at: writer.on_message_received(msg))
    finally:
        writer.stop()
    return {"path": str(target), "frames": count}


def status(ctx: DeviceContext) -> dict[str, Any]:
    """The interface, channel, bitrate and bus state (``active``, ``passive``, ``error``;
    ``down`` with ``error`` when the bus cannot be opened).

    CLI Example:

    .. code-block:: bash

        salt '*' can.status
    """
    backend = _backend(ctx)
    cfg = backend.config
    out: dict[str, Any] = {"backend": backend.name, "interface": cfg.interface, "channel": cfg.channel,
                           "bitrate": cfg.bitrate}
    try:
        with ctx.resources.lock(f"can:{cfg.channel}"), backend.bus() as bus:
            out["state"] = bus.state.name.lower()
    except DeviceError as exc:
        out.update(state="down", error=str(exc))
    return out


def available(ctx: DeviceContext) -> Availability:
    """The configured interface, or the virtual bus (with the reason); python-can is imported at the first call."""
    import importlib.util

    if importlib.util.find_spec("can") is None:
        return Availability.no("python-can is not installed")
    from device_modules.can.linux import missing_interface

    try:
        config = bus_config(ctx)
    except ModuleUnavailable as exc:
        return Availability.no(exc.reason)
    mode, reason = _choose(ctx, config)
    if mode == "real" and (why := missing_interface(config, module_root(ctx, "can"))) and config.interface != "virtual":
        return Availability.no(why)
    return Availability(True, reason, "sim" if mode == "sim" else "linux")


MODULE = ModuleSpec(
    name="can",
    functions={"send": send, "recv": recv, "monitor": monitor, "dump": dump, "status": status},
    available=available,
    doc=__doc__ or "",
    idempotent=frozenset({"status"}),
)
