"""OBD-II straight on a CAN bus: python-can for the bus, can-isotp for ISO 15765-2.

Any python-can interface works (``slcan`` adapters, ``socketcan`` on a Pi CAN
hat, ``virtual`` in tests); both libraries are imported when a bus is opened,
so the package imports without them.

Addressing (ISO 15765-4):

* 11-bit ids: a request to all ECUs goes to ``7DF``; ECU *n* answers on
  ``7E8+n`` and takes physical requests and flow control on ``7E0+n``.
* 29-bit ids: all ECUs ``18DB33F1``; ECU ``xx`` answers on ``18DAF1xx`` and
  listens on ``18DAxxF1``.

One :class:`isotp.TransportLayerLogic` per answering ECU reassembles its
frames and sends its flow control; they are created when an ECU first
answers and driven from this thread (no threads of our own or of can-isotp).
A request to all ECUs is one single frame sent directly; answers are
collected until ``response_timeout`` passes without one, or ``settle``
seconds after the last complete answer. ``7F xx 78`` (response pending)
extends the wait.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

from device_modules.errors import DeviceIOError, InvalidArguments, ModuleUnavailable
from device_modules.obd.backend import PROTOCOLS, ProtocolInfo
from device_modules.obd.decode import RESPONSE_PENDING, Frame, Message
from device_modules.obd.errors import AdapterError, NoData

__all__ = ["CanBackend"]

log = logging.getLogger(__name__)

_PROTOCOL_BY_BUS = {(500000, False): "6", (500000, True): "7", (250000, False): "8", (250000, True): "9"}
_PENDING_EXTENSION = 5.0  # seconds an ECU may take after "response pending" (ISO 15765-4 P2*)


class _Ecu:
    """One answering ECU: its ISO-TP stack, the frames waiting for it, the frames it sent."""

    def __init__(self, isotp: Any, bus: Any, can: Any, rxid: int, txid: int, extended: bool, pad: int) -> None:
        self.rxid = rxid
        self.header = f"{rxid:08X}" if extended else f"{rxid:03X}"
        self.inbox: deque[Any] = deque()
        self.frames: list[Frame] = []
        self.errors: list[str] = []
        mode = isotp.AddressingMode.Normal_29bits if extended else isotp.AddressingMode.Normal_11bits

        def transmit(msg: Any) -> None:
            bus.send(can.Message(arbitration_id=msg.arbitration_id, data=msg.data, is_extended_id=extended))

        self.stack = isotp.TransportLayerLogic(
            rxfn=lambda: self.inbox.popleft() if self.inbox else None, txfn=transmit,
            address=isotp.Address(mode, txid=txid, rxid=rxid),
            error_handler=lambda error: self.errors.append(f"{type(error).__name__}: {error}"),
            params={"tx_padding": pad, "blocking_send": False})

    def receiving(self) -> bool:
        return bool(self.inbox) or self.stack.rx_state != self.stack.RxState.IDLE


class CanBackend:
    """OBD over a python-can bus opened from ``bus_config`` (keyword arguments of ``can.Bus``).

    ``bus_config`` holds ``interface``, ``channel``, ``bitrate`` and any other
    option of that interface (``sleep_after_open`` for ``slcan``...).
    ``extended`` selects 29-bit addressing.

    Raises (from the constructor):
        ModuleUnavailable: python-can or can-isotp is not installed.
        DeviceIOError: the bus cannot be opened.
    """

    name = "can"

    def __init__(self, bus_config: Mapping[str, Any], extended: bool = False, response_timeout: float = 0.5,
                 settle: float = 0.1, pad: int = 0x00) -> None:
        try:
            import can
            import isotp
        except ImportError as exc:
            raise ModuleUnavailable("obd", f"the CAN backend needs python-can and can-isotp: {exc}") from exc
        self._can: Any = can
        self._isotp: Any = isotp
        self._config = dict(bus_config)
        self.extended = extended
        self.response_timeout = response_timeout
        self.settle = settle
        self.pad = pad
        self._ecus: dict[int, _Ecu] = {}
        self._answered = False
        try:
            self._bus: Any = can.Bus(**self._config)
        except Exception as exc:  # python-can raises CanError subclasses, OSError or ValueError
            raise DeviceIOError(f"cannot open CAN bus {self._describe()}: {exc}") from exc

    # ---- the ObdBackend protocol ----------------------------------------------------------

    def query(self, mode: int, pid: bytes, header: str | None = None) -> list[Message]:
        request = bytes([mode]) + pid
        messages = self._exchange(request, header)
        if not messages:
            where = f"header {header}" if header else "all ECUs"
            raise NoData(f"NO DATA: no ECU answered {request.hex().upper()} ({where}) within "
                         f"{self.response_timeout:g} s on CAN bus {self._describe()}")
        self._answered = True
        return messages

    def send(self, data: bytes, header: str | None = None) -> list[str]:
        if not data:
            raise AdapterError("nothing to send")
        return [frame.text for message in self.query(data[0], data[1:], header) for frame in message.frames]

    def voltage(self) -> float:
        """The engine ECU's control module voltage (PID 42): a bare CAN interface measures nothing."""
        for message in self.query(0x01, b"\x42"):
            if message.data[:2] == b"\x41\x42" and len(message.data) >= 4:
                return int.from_bytes(message.data[2:4], "big") / 1000
        raise AdapterError("no ECU answered PID 42 (control module voltage) with a voltage")

    def protocol(self) -> ProtocolInfo:
        number = _PROTOCOL_BY_BUS.get((int(self._config.get("bitrate") or 500000), self.extended))
        if number is None:
            width = 29 if self.extended else 11
            return ProtocolInfo("B", f"ISO 15765-4 (CAN {width}/{self._config.get('bitrate')})")
        return ProtocolInfo(number, PROTOCOLS[number])

    def set_protocol(self, number: str) -> ProtocolInfo:
        """Switch between 11- and 29-bit ids; the bit rate is the bus's and cannot change here."""
        if number != "0":
            wanted = [key for key, value in _PROTOCOL_BY_BUS.items() if value == number]
            bitrate = int(self._config.get("bitrate") or 500000)
            if not wanted or wanted[0][0] != bitrate:
                raise InvalidArguments(f"protocol {number} ({PROTOCOLS.get(number, '?')}) does not run on this "
                                       f"{bitrate} bit/s CAN bus; change obd:can:bitrate instead")
            self.extended = wanted[0][1]
            self._ecus.clear()
        return self.protocol()

    def status(self) -> str:
        return "Car Connected" if self._answered else "OBD Connected"

    def close(self) -> None:
        try:
            self._bus.shutdown()
        except Exception:  # shutting down a dead bus must not hide why it died
            log.debug("closing CAN bus %s failed", self._describe(), exc_info=True)

    # ---- the exchange ----------------------------------------------------------------------

    def _exchange(self, request: bytes, header: str | None) -> list[Message]:
        self._drain()
        for ecu in self._ecus.values():
            ecu.stack.reset()
            ecu.frames.clear()
            ecu.errors.clear()
        target: _Ecu | None = None
        if header is None:
            if len(request) > 7:
                raise InvalidArguments("a request to all ECUs must fit in one frame (7 bytes); give header=")
            functional = 0x18DB33F1 if self.extended else 0x7DF
            data = (bytes([len(request)]) + request).ljust(8, bytes([self.pad]))
            self._send_frame(functional, data)
        else:
            target = self._ecu(self._rxid_for(header))
            target.stack.send(request)
        return self._collect(target)

    def _collect(self, target: _Ecu | None) -> list[Message]:
        messages: list[Message] = []
        now = time.monotonic()
        deadline, last = now + self.response_timeout, None
        while now < deadline:
            self._pump()
            for ecu in list(self._ecus.values()):
                payload = ecu.stack.recv()
                if payload is None:
                    continue
                data = bytes(payload)
                if len(data) >= 3 and data[0] == 0x7F and data[2] == RESPONSE_PENDING:
                    deadline = time.monotonic() + _PENDING_EXTENSION
                    continue
                messages.append(Message(ecu.header, data, tuple(ecu.frames)))
                ecu.frames.clear()
                last = time.monotonic()
                if target is ecu:
                    return messages
            now = time.monotonic()
            busy = any(ecu.receiving() for ecu in self._ecus.values())
            if busy:
                deadline = max(deadline, now + 0.1)
            elif last is not None and target is None and now - last >= self.settle:
                break
        errors = [error for ecu in self._ecus.values() for error in ecu.errors]
        if not messages and errors:
            raise AdapterError(f"ISO-TP error on CAN bus {self._describe()}: {'; '.join(errors)}")
        return messages

    def _pump(self) -> None:
        """Read one frame (waiting a little), hand it to its ECU's stack, run every stack once."""
        try:
            msg = self._bus.recv(timeout=0.005)
        except Exception as exc:
            raise DeviceIOError(f"CAN bus {self._describe()} failed: {exc}") from exc
        if msg is not None and not msg.is_error_frame and not msg.is_remote_frame:
            ecu = self._ecu_for(msg.arbitration_id, msg.is_extended_id)
            if ecu is not None:
                ecu.frames.append(Frame(ecu.header, _trim(bytes(msg.data))))
                ecu.inbox.append(self._isotp.CanMessage(arbitration_id=msg.arbitration_id, data=msg.data,
                                                        extended_id=msg.is_extended_id))
        for ecu in list(self._ecus.values()):
            ecu.stack.process()

    def _ecu_for(self, arbitration_id: int, extended: bool) -> _Ecu | None:
        if extended != self.extended:
            return None
        if extended and (arbitration_id & 0xFFFFFF00) == 0x18DAF100:
            return self._ecu(arbitration_id)
        if not extended and 0x7E8 <= arbitration_id <= 0x7EF:
            return self._ecu(arbitration_id)
        return None

    def _ecu(self, rxid: int) -> _Ecu:
        if rxid not in self._ecus:
            txid = (0x18DA00F1 | ((rxid & 0xFF) << 8)) if self.extended else rxid - 8
            self._ecus[rxid] = _Ecu(self._isotp, self._bus, self._can, rxid, txid, self.extended, self.pad)
        return self._ecus[rxid]

    def _rxid_for(self, header: str) -> int:
        try:
            txid = int(header, 16)
        except ValueError:
            raise InvalidArguments(f"header {header!r} is not a hex CAN id") from None
        if self.extended:
            if (txid & 0xFFFF00FF) != 0x18DA00F1:
                raise InvalidArguments(f"29-bit header {header} is not a physical request id 18DAxxF1")
            return 0x18DAF100 | ((txid >> 8) & 0xFF)
        if not 0x7E0 <= txid <= 0x7E7:
            raise InvalidArguments(f"11-bit header {header} is not a physical request id 7E0..7E7")
        return txid + 8

    def _send_frame(self, arbitration_id: int, data: bytes) -> None:
        try:
            self._bus.send(self._can.Message(arbitration_id=arbitration_id, data=data, is_extended_id=self.extended))
        except Exception as exc:
            raise DeviceIOError(f"cannot send on CAN bus {self._describe()}: {exc}") from exc

    def _drain(self) -> None:
        """Drop frames left from an earlier exchange (a late answer is not this one's)."""
        try:
            while self._bus.recv(timeout=0) is not None:
                pass
        except Exception as exc:
            raise DeviceIOError(f"CAN bus {self._describe()} failed: {exc}") from exc

    def _describe(self) -> str:
        return f"{self._config.get('interface', '?')}:{self._config.get('channel', '?')}"


def _trim(data: bytes) -> bytes:
    """A frame's data without the padding after a single frame, as an ELM327 prints it."""
    if data and data[0] >> 4 == 0 and 0 < data[0] <= 7:
        return data[: 1 + data[0]]
    return data
