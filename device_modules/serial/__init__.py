"""``serial.*``: talk to devices on serial ports (modems, OBD adapters, sensors) with pyserial.

The process keeps one open handle per port, opened exclusively (a second
process gets ``DeviceBusy``), and each call holds the port's lock: two jobs
on one port never interleave their bytes. Text is UTF-8 in which ``\\r``,
``\\n``, ``\\t``, ``\\0``, ``\\xNN`` and ``\\\\`` stand for their bytes (a CLI
cannot type a carriage return); ``hex=True`` sends and answers bytes as hex
(``"41 54 0d"`` or ``"41540d"``).

Backend: real ports (``hardware: real``), or with ``hardware: sim`` (or
``auto`` off a Pi) every logical name (``obd``, ``modem``) is its own
pyserial ``loop://`` port that echoes what is written. Config section
``serial:``::

    hardware: auto | real | sim
    ports: {obd: /dev/serial0, modem: /dev/ttyUSB2}    # aliases
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

from device_modules.context import DeviceContext
from device_modules.errors import DeviceIOError, DeviceTimeout, InvalidArguments
from device_modules.hardware import choose
from device_modules.serial.backend import RESOURCE, SerialBackend, SerialPort
from device_modules.spec import Availability, ModuleSpec

__all__ = ["MODULE", "ports", "query", "read", "write"]

T = TypeVar("T")
SIMULATOR = "pyserial loop:// echo ports for logical names"
#: A read without ``size`` or ``line`` ends when the line stays quiet this long.
QUIET = 0.05


def _backend(ctx: DeviceContext) -> SerialBackend:
    aliases = ctx.module_config("serial").get("ports") or {}
    if not isinstance(aliases, dict):
        raise InvalidArguments("serial: ports must map alias names to devices")
    if choose(ctx, "serial", SIMULATOR).mode == "sim":
        from device_modules.serial.sim import SimSerial

        return ctx.resources.get(RESOURCE, lambda: SimSerial(aliases))
    from device_modules.serial.linux import LinuxSerial

    return ctx.resources.get(RESOURCE, lambda: LinuxSerial(aliases))


def _using(ctx: DeviceContext, port: str, baudrate: int, action: Callable[[SerialPort], T]) -> T:
    """Run ``action`` on the port's one handle, holding its lock; a broken handle is dropped."""
    if isinstance(baudrate, bool) or not isinstance(baudrate, int) or baudrate <= 0:
        raise InvalidArguments(f"baudrate must be a positive whole number, not {baudrate!r}")
    from device_modules.serial.linux import serial_errors

    backend = _backend(ctx)
    where = backend.locate(port)
    key = f"serial:{where.key}"
    with ctx.resources.lock(key):
        handle = ctx.resources.get(key, lambda: backend.open(where, baudrate))
        try:
            with serial_errors(where.label):
                if handle.baudrate != baudrate:
                    handle.baudrate = baudrate
                return action(handle)
        except DeviceIOError:
            ctx.resources.discard(key)
            raise


def _seconds(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise InvalidArguments(f"{name} must be a number of seconds, at least 0, not {value!r}")
    return float(value)


_ESCAPE = re.compile(rb"\\(x[0-9a-fA-F]{2}|[rnt0\\])")
_ESCAPED = {b"r": b"\r", b"n": b"\n", b"t": b"\t", b"0": b"\0", b"\\": b"\\"}


def _text(text: str) -> bytes:
    """UTF-8 bytes of ``text`` with its backslash escapes replaced."""
    return _ESCAPE.sub(lambda m: bytes.fromhex(m[1][1:].decode()) if m[1][:1] == b"x" else _ESCAPED[m[1]],
                       text.encode("utf-8"))


def _encode(data: str, hex: bool) -> bytes:
    if not isinstance(data, str):
        raise InvalidArguments(f"data must be a string, not {type(data).__name__}")
    if not hex:
        return _text(data)
    try:
        return bytes.fromhex(data.replace(":", " "))
    except ValueError as exc:
        raise InvalidArguments(f"data is not hex: {data!r}") from exc


def _decode(raw: bytes, hex: bool) -> str:
    return raw.hex() if hex else raw.decode("utf-8", "backslashreplace")


def _read_quiet(handle: SerialPort, timeout: float) -> bytes:
    """What arrives: wait up to ``timeout`` for a first byte, then until a quiet gap or the deadline."""
    deadline = time.monotonic() + timeout
    handle.timeout = timeout
    got = bytearray(handle.read(1))
    while got and (left := deadline - time.monotonic()) > 0:
        handle.timeout = min(QUIET, left)
        chunk = handle.read(max(1, handle.in_waiting))
        if not chunk:
            break
        got += chunk
    return bytes(got)


def ports(ctx: DeviceContext) -> list[dict[str, Any]]:
    """The serial ports found on the device (``device``, ``description``, ``hwid``), aliases last.

    CLI Example:

    .. code-block:: bash

        salt '*' serial.ports
    """
    return _backend(ctx).ports()


def write(ctx: DeviceContext, port: str, data: str, baudrate: int = 9600, hex: bool = False) -> dict[str, Any]:
    """Send ``data`` to ``port`` and wait until it has left.

    CLI Example:

    .. code-block:: bash

        salt '*' serial.write /dev/ttyUSB0 'hello'
        salt '*' serial.write modem '41 54 0d' hex=True baudrate=115200
    """
    raw = _encode(data, hex)

    def send(handle: SerialPort) -> int:
        handle.write(raw)
        handle.flush()
        return len(raw)

    return {"port": port, "written": _using(ctx, port, baudrate, send)}


def read(ctx: DeviceContext, port: str, size: int | None = None, timeout: float = 1.0, line: bool = False,
         hex: bool = False, baudrate: int = 9600) -> dict[str, Any]:
    """Read from ``port``: ``size`` bytes, one line (``line=True``), or whatever arrives.

    Waits at most ``timeout`` seconds and answers what arrived by then (maybe
    nothing). Without ``size`` or ``line`` it stops once the port has been quiet
    for 50 ms.

    CLI Example:

    .. code-block:: bash

        salt '*' serial.read /dev/ttyUSB0 line=True timeout=5
        salt '*' serial.read obd size=16 hex=True
    """
    limit = _seconds("timeout", timeout)
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise InvalidArguments(f"size must be a whole number of at least 1, not {size!r}")

    def take(handle: SerialPort) -> bytes:
        if not line and size is None:
            return _read_quiet(handle, limit)
        handle.timeout = limit
        return handle.read_until(b"\n", size) if line else handle.read(size or 1)

    raw = _using(ctx, port, baudrate, take)
    return {"port": port, "data": _decode(raw, hex), "size": len(raw)}


def query(ctx: DeviceContext, port: str, data: str, terminator: str = "\r", timeout: float = 2.0,
          baudrate: int = 9600, hex: bool = False) -> dict[str, Any]:
    """Send ``data`` and read the answer up to ``terminator`` (text, escapes allowed; not in the answer).

    Bytes that were waiting before the request are dropped first.

    Raises:
        DeviceTimeout: the terminator did not arrive within ``timeout`` seconds.

    CLI Example:

    .. code-block:: bash

        salt '*' serial.query modem 'ATI\\r' terminator='OK\\r\\n'
    """
    raw = _encode(data, hex)
    limit = _seconds("timeout", timeout)
    if not isinstance(terminator, str) or not terminator:
        raise InvalidArguments("terminator must be a non-empty string")
    end = _text(terminator)

    def ask(handle: SerialPort) -> bytes:
        handle.reset_input_buffer()
        handle.write(raw)
        handle.flush()
        handle.timeout = limit
        return handle.read_until(end)

    answer = _using(ctx, port, baudrate, ask)
    if not answer.endswith(end):
        raise DeviceTimeout(f"no {terminator!r} from {port} within {limit:g} s (got {answer!r})")
    body = answer[: -len(end)]
    return {"port": port, "data": _decode(body, hex), "size": len(body)}


def available(ctx: DeviceContext) -> Availability:
    """Real ports, or loop:// echo ports in simulation (with the reason); pyserial is imported at the first call."""
    import importlib.util

    if importlib.util.find_spec("serial") is None:
        return Availability.no("pyserial is not installed")
    choice = choose(ctx, "serial", SIMULATOR)
    return Availability(True, choice.reason, _backend(ctx).name)


MODULE = ModuleSpec(
    name="serial",
    functions={"ports": ports, "write": write, "read": read, "query": query},
    available=available,
    doc=__doc__ or "",
    idempotent=frozenset({"ports"}),
)
