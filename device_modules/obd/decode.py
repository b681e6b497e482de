"""Frames to messages: the sans-IO core shared by every backend.

An adapter with headers on prints one line per bus frame::

    7E8 10 14 49 02 01 57 50 30      first frame: PCI 1, length 0x014
    7E8 21 5A 5A 5A 39 39 5A 54      consecutive frame 1
    7E8 22 53 33 39 30 30 30 30      consecutive frame 2 (padding after byte 20)

:func:`parse_frame` splits a line into header and data, :func:`assemble`
joins frames into one :class:`Message` per ECU (ISO 15765-2 on CAN; the
sequence bytes of J1850 / ISO 9141 / KWP answers elsewhere), and
:func:`answer` picks the positive answer to a request or raises the ECU's
refusal. Nothing here does I/O.

Rules:

1. A CAN line's header is 3 hex digits (11-bit id) or 8 (29-bit id); a
   legacy line starts with 3 header bytes and ends with a checksum byte.
   Spaces are optional: with 11-bit ids a line without spaces has an odd
   number of digits, which is how :func:`frame_kind` guesses when the
   protocol is not known.
2. Frames of different ECUs may interleave; each ECU is reassembled on its
   own, in the order of its first frame.
3. ``7F xx 78`` (response pending) is never an answer: the real one follows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from device_modules.obd.errors import AdapterError, NegativeResponse

__all__ = [
    "NRC_NAMES", "RESPONSE_PENDING", "Frame", "FrameError", "FrameKind", "Message", "answer", "answers", "assemble",
    "decode_vin", "frame_kind", "parse_frame", "segment", "supported_from_bitmap",
]

FrameKind = Literal["can11", "can29", "legacy"]

_HEX = re.compile(r"[0-9A-F]+")

#: ISO 14229-1 negative response codes seen in OBD and manufacturer (mode 21/22) requests.
NRC_NAMES: dict[int, str] = {
    0x10: "generalReject",
    0x11: "serviceNotSupported",
    0x12: "subFunctionNotSupported",
    0x13: "incorrectMessageLengthOrInvalidFormat",
    0x14: "responseTooLong",
    0x21: "busyRepeatRequest",
    0x22: "conditionsNotCorrect",
    0x24: "requestSequenceError",
    0x25: "noResponseFromSubnetComponent",
    0x26: "failurePreventsExecutionOfRequestedAction",
    0x31: "requestOutOfRange",
    0x33: "securityAccessDenied",
    0x35: "invalidKey",
    0x36: "exceedNumberOfAttempts",
    0x37: "requiredTimeDelayNotExpired",
    0x70: "uploadDownloadNotAccepted",
    0x72: "generalProgrammingFailure",
    0x78: "requestCorrectlyReceived-ResponsePending",
    0x7E: "subFunctionNotSupportedInActiveSession",
    0x7F: "serviceNotSupportedInActiveSession",
}

RESPONSE_PENDING = 0x78


class FrameError(ValueError):
    """A line or a frame sequence that cannot be what an adapter prints."""


@dataclass(frozen=True)
class Frame:
    """One bus frame: the sender's header (hex) and the data bytes (PCI byte included on CAN)."""

    header: str
    data: bytes

    @property
    def text(self) -> str:
        """The frame as an ELM327 prints it with headers on and spaces off."""
        return self.header + self.data.hex().upper()


@dataclass(frozen=True)
class Message:
    """One ECU's whole answer: ``data`` starts with the service byte (``41`` for mode 01)."""

    ecu: str
    data: bytes
    frames: tuple[Frame, ...] = field(default=(), compare=False)


def frame_kind(protocol_id: str | None) -> FrameKind | None:
    """The frame layout of an ELM327 protocol number (``"6"``, ``"A7"``...), ``None`` if unknown."""
    pid = (protocol_id or "").upper()
    if len(pid) == 2 and pid[0] == "A":  # "A6": found by the automatic search
        pid = pid[1]
    if pid in ("6", "8", "B", "C"):
        return "can11"
    if pid in ("7", "9", "A"):
        return "can29"
    if pid in ("1", "2", "3", "4", "5"):
        return "legacy"
    return None


def parse_frame(line: str, kind: FrameKind | None = None) -> Frame:
    """One printed line as a :class:`Frame`; ``kind`` ``None`` guesses CAN by rule 1.

    Raises:
        FrameError: not hex, odd bytes, or too short for its header.
    """
    digits = line.replace(" ", "").upper()
    if not _HEX.fullmatch(digits):
        raise FrameError(f"not a frame: {line!r}")
    if kind is None:
        kind = "can11" if len(digits) % 2 else "can29"
    header_len = {"can11": 3, "can29": 8, "legacy": 6}[kind]
    body = digits[header_len:]
    if kind == "legacy":
        body = body[:-2]  # the checksum byte
    if len(digits) <= header_len or len(body) % 2:
        raise FrameError(f"not a {kind} frame: {line!r}")
    return Frame(digits[:header_len], bytes.fromhex(body))


def assemble(frames: Iterable[Frame], can: bool = True) -> list[Message]:
    """Frames joined into one :class:`Message` per ECU and answer (rules 2 and 3 of the module).

    Raises:
        FrameError: a consecutive frame out of sequence, or an answer cut short.
    """
    by_ecu: dict[str, list[Frame]] = {}
    for frame in frames:
        by_ecu.setdefault(frame.header, []).append(frame)
    messages: list[Message] = []
    for ecu, group in by_ecu.items():
        messages.extend(_iso_tp(ecu, group) if can else _legacy(ecu, group))
    return messages


def _iso_tp(ecu: str, frames: Sequence[Frame]) -> list[Message]:
    out: list[Message] = []
    buffer = bytearray()
    expected = 0
    sequence = 0
    taken: list[Frame] = []
    for frame in frames:
        if not frame.data:
            raise FrameError(f"empty frame from {ecu}")
        pci, low = frame.data[0] >> 4, frame.data[0] & 0x0F
        if pci == 0:  # single frame (a zero length escapes to a CAN FD length byte)
            length, start = (low, 1) if low else (frame.data[1] if len(frame.data) > 1 else 0, 2)
            if len(frame.data) < start + length:
                raise FrameError(f"single frame from {ecu} shorter than its length {length}: {frame.text}")
            out.append(Message(ecu, frame.data[start:start + length], (frame,)))
        elif pci == 1:  # first frame
            if len(frame.data) < 2:
                raise FrameError(f"first frame from {ecu} without a length: {frame.text}")
            expected, sequence = (low << 8) | frame.data[1], 1
            buffer, taken = bytearray(frame.data[2:]), [frame]
        elif pci == 2:  # consecutive frame
            if not taken:
                raise FrameError(f"consecutive frame from {ecu} without a first frame: {frame.text}")
            if low != sequence:
                raise FrameError(f"frame from {ecu} out of sequence: expected {sequence:X}, got {low:X}")
            sequence = (sequence + 1) & 0x0F
            buffer += frame.data[1:]
            taken.append(frame)
        else:  # flow control and reserved frames carry no answer
            continue
        if taken and len(buffer) >= expected:
            out.append(Message(ecu, bytes(buffer[:expected]), tuple(taken)))
            buffer, taken = bytearray(), []
    if taken:
        raise FrameError(f"answer from {ecu} cut short: {len(buffer)} of {expected} bytes")
    return out


def _legacy(ecu: str, frames: Sequence[Frame]) -> list[Message]:
    """J1850 / ISO 9141 / KWP: long answers come as numbered frames of the same service."""
    if len(frames) < 2 or len({f.data[:1] for f in frames}) != 1:
        return [Message(ecu, f.data, (f,)) for f in frames]
    service = frames[0].data[0]
    if service in (0x43, 0x47, 0x4A):  # DTC lists: three codes per frame
        joined = bytes([service]) + b"".join(f.data[1:] for f in frames)
    else:  # mode 09 and friends: service, PID, sequence number, data
        ordered = sorted(frames, key=lambda f: f.data[2] if len(f.data) > 2 else 0)
        joined = ordered[0].data[:2] + b"".join(f.data[3:] for f in ordered)
    return [Message(ecu, joined, tuple(frames))]


def segment(payload: bytes, pad: int | None = None) -> list[bytes]:
    """``payload`` as the data of ISO 15765-2 frames (the inverse of reassembly)."""
    if len(payload) <= 7:
        frames = [bytes([len(payload)]) + payload]
    else:
        frames = [bytes([0x10 | (len(payload) >> 8), len(payload) & 0xFF]) + payload[:6]]
        for index, start in enumerate(range(6, len(payload), 7), start=1):
            frames.append(bytes([0x20 | (index & 0x0F)]) + payload[start:start + 7])
    if pad is not None:
        frames = [f.ljust(8, bytes([pad])) for f in frames]
    return frames


def answers(messages: Sequence[Message], mode: int, pid: bytes = b"") -> list[tuple[str, bytes]]:
    """``(ecu, data after the service byte and the PID echo)`` of every positive answer, ECUs in header order.

    Raises:
        NegativeResponse: no positive answer, and an ECU refused (``7F``).
        AdapterError: no positive answer at all (the unexpected bytes are in the message).
    """
    prefix = bytes([(mode + 0x40) & 0xFF]) + pid
    found: list[tuple[str, bytes]] = []
    refusal: tuple[str, int] | None = None
    for message in sorted(messages, key=lambda m: m.ecu):
        data = message.data
        if data.startswith(prefix):
            found.append((message.ecu, data[len(prefix):]))
        elif len(data) >= 3 and data[0] == 0x7F and data[1] == mode and data[2] != RESPONSE_PENDING:
            refusal = refusal or (message.ecu, data[2])
    if found:
        return found
    request = f"{mode:02X}{pid.hex().upper()}"
    if refusal is not None:
        ecu, code = refusal
        name = NRC_NAMES.get(code, "unknown response code")
        raise NegativeResponse(f"ECU {ecu} refused {request}: {name} (7F {mode:02X} {code:02X})", ecu, mode, code)
    seen = ", ".join(f"{m.ecu}: {m.data.hex(' ').upper()}" for m in messages) or "nothing"
    raise AdapterError(f"no answer to {request} among {seen}")


def answer(messages: Sequence[Message], mode: int, pid: bytes = b"") -> tuple[str, bytes]:
    """The first of :func:`answers` (the engine ECU ``7E8`` when it answered)."""
    return answers(messages, mode, pid)[0]


def decode_vin(data: bytes) -> str:
    """The 17 characters of a mode 09 PID 02 answer (data after ``49 02``), zeros kept.

    A leading item count (CAN) or leading padding (legacy) is dropped by
    taking the last 17 bytes; trailing ``0`` characters are part of the VIN.

    Raises:
        AdapterError: fewer than 17 bytes.
    """
    if len(data) < 17:
        raise AdapterError(f"VIN answer has {len(data)} bytes, not 17: {data.hex(' ').upper()}")
    return data[-17:].decode("ascii", errors="replace")


def supported_from_bitmap(base: int, bitmap: bytes) -> list[int]:
    """PIDs ``base+1`` .. ``base+32`` whose bit is set in a 4-byte "PIDs supported" answer."""
    bits = int.from_bytes(bitmap[:4].ljust(4, b"\0"), "big")
    return [base + i for i in range(1, 33) if bits & (1 << (32 - i))]
