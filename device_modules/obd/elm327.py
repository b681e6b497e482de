"""A thin ELM327 / STN11xx client over pyserial's ``serial_for_url``.

Works with a device (``/dev/serial0``, ``/dev/ttyUSB0``), a pseudo-tty, a TCP
adapter (``socket://host:35000``) or ``loop://``. The adapter is set up with
``ATZ`` (reset), ``ATE0`` (no echo), ``ATL0`` (no line feeds), ``ATS0`` (no
spaces), ``ATH1`` (headers on, so that answers of several ECUs and multi-frame
answers can be told apart) and ``ATSP<n>`` (``0``: search).

Conversation rules:

1. Every command is a line ending in ``\\r``; the adapter's answer ends with
   the ``>`` prompt. No prompt within the timeout is a
   :class:`~device_modules.errors.DeviceTimeout`.
2. An echoed command line is dropped (the adapter echoes until ``ATE0``), as
   are ``SEARCHING...`` and ``BUS INIT: ...OK``.
3. ``NO DATA`` is :class:`~device_modules.obd.errors.NoData`; ``?``,
   ``CAN ERROR``, ``UNABLE TO CONNECT``, ``STOPPED``, ``BUS INIT: ...ERROR``,
   ``BUFFER FULL`` and the other adapter errors are
   :class:`~device_modules.obd.errors.AdapterError` quoting the adapter. A
   reset of the adapter (``LV RESET``) or an answer that is not frames is a
   plain :class:`~device_modules.errors.DeviceIOError`: the settings above are
   lost, so the handle must be reopened.
4. Never send a bare ``\\r``: the adapter would repeat its last command, which
   may have been ``04`` (clear trouble codes).
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any, Protocol

from device_modules.errors import DeviceBusy, DeviceIOError, DeviceTimeout, ModuleUnavailable
from device_modules.obd.backend import PROTOCOLS, ProtocolInfo, protocol_info
from device_modules.obd.decode import FrameError, Message, assemble, frame_kind, parse_frame
from device_modules.obd.errors import AdapterError, NoData

__all__ = ["Elm327"]

log = logging.getLogger(__name__)

_NOISE = re.compile(r"^(SEARCHING\.*|BUS INIT:?\s*\.*\s*OK)$")
_ADAPTER_ERRORS = re.compile(
    r"^(CAN ERROR|UNABLE TO CONNECT|STOPPED|BUS BUSY|BUS ERROR|BUFFER FULL|DATA ERROR|FB ERROR"
    r"|<?RX ERROR|BUS INIT:?.*ERROR|ERR\d\d|FC RX TIMEOUT)$")
_ADAPTER_RESETS = re.compile(r"^(LV RESET|ACT ALERT|ELM327.*|STN1\d\d\d.*)$")
_BAD_LINE = re.compile(r"<(DATA|RX) ERROR$")
_VOLTS = re.compile(r"^(\d+(?:\.\d+)?)\s*V?$")
_HEX = re.compile(r"^[0-9A-F]+$")

#: The request header that reaches every ECU, by frame layout.
_FUNCTIONAL = {"can11": "7DF", "can29": "18DB33F1", "legacy": "686AF1"}


class Port(Protocol):
    """The part of a ``serial.Serial`` the client uses."""

    @property
    def in_waiting(self) -> int: ...

    def read(self, size: int = 1) -> bytes: ...

    def write(self, data: bytes) -> int | None: ...

    def reset_input_buffer(self) -> None: ...

    def close(self) -> None: ...


def open_port(url: str, baudrate: int, timeout: float) -> Port:
    """``serial_for_url(url)``, opened exclusively, with pyserial's errors translated.

    Raises:
        ModuleUnavailable: pyserial is not installed.
        DeviceBusy: another process holds the port.
        DeviceIOError: the port cannot be opened (missing, no permission...).
    """
    try:
        import serial
    except ImportError as exc:
        raise ModuleUnavailable("obd", "pyserial is not installed") from exc
    try:
        port: Any = serial.serial_for_url(url, baudrate=baudrate, timeout=0.05, write_timeout=timeout,
                                          exclusive=True)
    except serial.SerialException as exc:
        if "lock" in str(exc).lower():
            raise DeviceBusy(f"OBD adapter port {url} is held by another process: {exc}") from exc
        raise DeviceIOError(f"cannot open OBD adapter port {url}: {exc}") from exc
    except (OSError, ValueError) as exc:
        raise DeviceIOError(f"cannot open OBD adapter port {url}: {exc}") from exc
    return port  # type: ignore[no-any-return]


class Elm327:
    """An initialised ELM327 on ``url``; see the module docstring for the conversation rules.

    ``port`` may be given instead of opening ``url`` (tests pass a pty they hold).

    Raises (from the constructor): as :func:`open_port`, plus
    :class:`~device_modules.errors.DeviceTimeout` when nothing answers ``ATZ``.
    """

    name = "elm327"

    def __init__(self, url: str, baudrate: int = 38400, timeout: float = 10.0, protocol: str = "0",
                 port: Port | None = None) -> None:
        self.url = url
        self.timeout = timeout
        self.version = ""
        self._port = port if port is not None else open_port(url, baudrate, timeout)
        self._header: str | None = None  # set by ATSH; None: the functional default
        self._protocol: ProtocolInfo | None = None
        self._status = "Not Connected"
        try:
            self._initialise(protocol)
        except BaseException:
            self.close()
            raise

    # ---- the ObdBackend protocol ----------------------------------------------------------

    def query(self, mode: int, pid: bytes, header: str | None = None) -> list[Message]:
        self._use_header(header)
        lines = self._obd(f"{mode:02X}{pid.hex().upper()}")
        kind = frame_kind(self.protocol().id)
        try:
            return assemble((parse_frame(line, kind) for line in lines), can=kind != "legacy")
        except FrameError as exc:
            raise DeviceIOError(f"unexpected answer from the OBD adapter at {self.url}: {exc}") from exc

    def send(self, data: bytes, header: str | None = None) -> list[str]:
        self._use_header(header)
        return self._obd(data.hex().upper())

    def voltage(self) -> float:
        lines = self._command("ATRV")
        match = _VOLTS.match(lines[0].strip().upper()) if lines else None
        if match is None:
            raise AdapterError(f"OBD adapter at {self.url} answered {lines!r} to ATRV")
        return float(match.group(1))

    def protocol(self) -> ProtocolInfo:
        if self._protocol is None or self._protocol.id == "0":
            lines = self._command("ATDPN")
            info = protocol_info(lines[0]) if lines else ProtocolInfo("0", PROTOCOLS["0"], True)
            if info.id == "0":
                return info
            self._protocol = info
        return self._protocol

    def set_protocol(self, number: str) -> ProtocolInfo:
        self._expect_ok(f"ATSP{number}")
        self._protocol = None
        self._header = None
        return self.protocol() if number != "0" else ProtocolInfo("0", PROTOCOLS["0"], True)

    def status(self) -> str:
        return self._status

    def close(self) -> None:
        self._status = "Not Connected"
        try:
            self._port.close()
        except Exception:  # closing a broken port must not hide why it broke
            log.debug("closing %s failed", self.url, exc_info=True)

    # ---- the conversation ------------------------------------------------------------------

    def _initialise(self, protocol: str) -> None:
        reply = self._command("ATZ")
        if any(line.upper() == "STOPPED" for line in reply):  # ATZ interrupted a running command
            reply = self._command("ATZ")
        self.version = next((line for line in reversed(reply) if line.upper() != "ATZ"), "")
        for command in ("ATE0", "ATL0", "ATS0", "ATH1", f"ATSP{protocol}"):
            self._expect_ok(command)
        self._status = "ELM Connected"
        log.info("OBD adapter %s at %s ready", self.version or "(no version)", self.url)

    def _expect_ok(self, command: str) -> None:
        lines = self._command(command)
        if "OK" not in (line.upper() for line in lines):
            raise AdapterError(f"OBD adapter at {self.url} answered {lines!r} to {command}, not OK")

    def _use_header(self, header: str | None) -> None:
        want = header.upper().replace(" ", "") if header else None
        if want == self._header:
            return
        if want is not None and not (_HEX.match(want) and len(want) in (3, 6, 8)):
            raise AdapterError(f"header {header!r} is not 3, 6 or 8 hex digits")
        target = want or _FUNCTIONAL.get(frame_kind(self.protocol().id) or "can11", "7DF")
        if len(target) == 8:  # 29-bit id: priority byte by ATCP, the rest by ATSH
            self._expect_ok(f"ATCP{target[:2]}")
            target = target[2:]
        self._expect_ok(f"ATSH{target}")
        self._header = want

    def _obd(self, command: str) -> list[str]:
        """Lines of frames the vehicle answered to ``command`` (rule 3 of the module)."""
        data: list[str] = []
        errors: list[str] = []
        for line in self._command(command):
            upper = line.upper()
            if _NOISE.match(upper):
                continue
            if _BAD_LINE.search(upper):
                log.warning("OBD adapter at %s flagged a bad line for %s: %s", self.url, command, line)
                continue
            if upper == "NO DATA":
                raise NoData(f"NO DATA: no ECU answered {command} (OBD adapter at {self.url})")
            if upper == "?":
                raise AdapterError(f"OBD adapter at {self.url} did not understand {command} ('?')")
            if _ADAPTER_RESETS.match(upper):
                self._status = "Not Connected"
                raise DeviceIOError(f"OBD adapter at {self.url} reset itself ({line!r}) during {command}")
            (errors if _ADAPTER_ERRORS.match(upper) or not _HEX.match(upper.replace(" ", "")) else data).append(line)
        if errors and not data:
            raise AdapterError(f"OBD adapter at {self.url} answered {' / '.join(errors)!r} to {command}")
        if not data:
            raise NoData(f"NO DATA: empty answer to {command} (OBD adapter at {self.url})")
        self._status = "Car Connected"
        return data

    def _command(self, command: str, timeout: float | None = None) -> list[str]:
        """Write ``command``, read up to the prompt, return the non-empty lines (rules 1 and 2)."""
        wait = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        buffer = bytearray()
        try:
            self._port.reset_input_buffer()
            self._port.write(command.encode("ascii") + b"\r")
            while not buffer.rstrip(b"\r\n \0").endswith(b">"):
                if time.monotonic() > deadline:
                    raise DeviceTimeout(f"OBD adapter at {self.url} did not answer {command} within {wait:g} s"
                                        + (f" (got {bytes(buffer)!r})" if buffer else ""))
                buffer += self._port.read(self._port.in_waiting or 1)
        except DeviceTimeout:
            raise
        except Exception as exc:  # pyserial raises SerialException, OSError or TypeError on a dead port
            self._status = "Not Connected"
            raise DeviceIOError(f"OBD adapter at {self.url} failed during {command}: {exc}") from exc
        text = buffer.decode("ascii", errors="replace").replace("\0", "").rstrip().removesuffix(">")
        lines = [line.strip() for line in re.split(r"[\r\n]+", text) if line.strip()]
        if lines and lines[0].replace(" ", "").upper() == command.upper():
            lines = lines[1:]
        log.debug("ELM327 %s -> %r", command, lines)
        return lines
