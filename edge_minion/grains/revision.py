"""Decoding a Raspberry Pi revision code (``/proc/cpuinfo`` ``Revision``).

Boards since the Pi 2 use a bitfield, most significant bit first::

    N O Q uuu W u F MMM CCCC PPPP TTTTTTTT RRRR
    | | |     |   | |   |    |    |        board revision (1.R)
    | | |     |   | |   |    |    board type (0x11 = 4B)
    | | |     |   | |   |    processor (3 = BCM2711)
    | | |     |   | |   manufacturer (0 = Sony UK)
    | | |     |   | memory (256 MB << M; 7 = "other")
    | | |     |   F = 1: new-style code
    | | |     W: warranty voided by overclocking
    N, O, Q: overvoltage / OTP program / OTP read disallowed

Earlier boards have sequential codes (0002 to 0015) looked up in a table,
sometimes with an over-volt flag above them (``1000000e``). Always test the
new-style flag (bit 23) before reading any field.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from edge_minion.grains.errors import UnknownRevision

_NEW_STYLE = 1 << 23

_TYPES = {
    0x00: "A", 0x01: "B", 0x02: "A+", 0x03: "B+", 0x04: "2B", 0x05: "Alpha", 0x06: "CM1",
    0x08: "3B", 0x09: "Zero", 0x0A: "CM3", 0x0C: "Zero W", 0x0D: "3B+", 0x0E: "3A+",
    0x0F: "Internal", 0x10: "CM3+", 0x11: "4B", 0x12: "Zero 2 W", 0x13: "400", 0x14: "CM4",
    0x15: "CM4S", 0x16: "Internal", 0x17: "5", 0x18: "CM5", 0x19: "500", 0x1A: "CM5 Lite",
    0x1B: "CM0",
}
_PROCESSORS = {0: "BCM2835", 1: "BCM2836", 2: "BCM2837", 3: "BCM2711", 4: "BCM2712"}
_MANUFACTURERS = {0: "Sony UK", 1: "Egoman", 2: "Embest", 3: "Sony Japan", 4: "Embest", 5: "Stadium"}
_MEMORY_OTHER = 7


class _OldBoard(NamedTuple):
    board_type: str
    board_revision: str
    memory_mb: int | None  # None: sold in more than one size under the same code
    manufacturer: str


_OLD_STYLE = {
    0x02: _OldBoard("B", "1.0", 256, "Egoman"),
    0x03: _OldBoard("B", "1.0", 256, "Egoman"),
    0x04: _OldBoard("B", "2.0", 256, "Sony UK"),
    0x05: _OldBoard("B", "2.0", 256, "Qisda"),
    0x06: _OldBoard("B", "2.0", 256, "Egoman"),
    0x07: _OldBoard("A", "2.0", 256, "Egoman"),
    0x08: _OldBoard("A", "2.0", 256, "Sony UK"),
    0x09: _OldBoard("A", "2.0", 256, "Qisda"),
    0x0D: _OldBoard("B", "2.0", 512, "Egoman"),
    0x0E: _OldBoard("B", "2.0", 512, "Sony UK"),
    0x0F: _OldBoard("B", "2.0", 512, "Egoman"),
    0x10: _OldBoard("B+", "1.2", 512, "Sony UK"),
    0x11: _OldBoard("CM1", "1.0", 512, "Sony UK"),
    0x12: _OldBoard("A+", "1.1", 256, "Sony UK"),
    0x13: _OldBoard("B+", "1.2", 512, "Embest"),
    0x14: _OldBoard("CM1", "1.0", 512, "Embest"),
    0x15: _OldBoard("A+", "1.1", None, "Embest"),
}


def parse_code(text: str) -> int:
    """``"c03114"`` or ``"0x000e"`` -> the integer code.

    Raises:
        UnknownRevision: the text is not hexadecimal.
    """
    try:
        return int(text.strip().lower().removeprefix("0x"), 16)
    except ValueError as exc:
        raise UnknownRevision(f"revision code {text!r} is not hexadecimal") from exc


def decode(code: int, text: str | None = None) -> dict[str, Any]:
    """The board a revision code names.

    Returns ``{"revision", "board_type", "memory_mb", "manufacturer", "processor",
    "board_revision"}``; ``revision`` is ``text`` as read (lowercased), else the
    code in hex. A field the tables do not know reads ``"unknown (N)"``;
    ``memory_mb`` is ``None`` when the code does not pin the size down.

    Raises:
        UnknownRevision: an old-style code outside the table.
    """
    shown = text.strip().lower() if text else (f"{code:06x}" if code & _NEW_STYLE else f"{code:04x}")
    if code & _NEW_STYLE:
        memory = (code >> 20) & 0x7
        maker = (code >> 16) & 0xF
        cpu = (code >> 12) & 0xF
        kind = (code >> 4) & 0xFF
        return {
            "revision": shown,
            "board_type": _TYPES.get(kind, f"unknown (0x{kind:02x})"),
            "memory_mb": None if memory == _MEMORY_OTHER else 256 << memory,
            "manufacturer": _MANUFACTURERS.get(maker, f"unknown ({maker})"),
            "processor": _PROCESSORS.get(cpu, f"unknown ({cpu})"),
            "board_revision": f"1.{code & 0xF}",
        }
    old = _OLD_STYLE.get(code & 0xFF)  # bits above the table (over-volt flag) do not name the board
    if old is None or code & 0xFF00:
        raise UnknownRevision(f"revision code {shown!r} names no known Raspberry Pi")
    return {
        "revision": shown,
        "board_type": old.board_type,
        "memory_mb": old.memory_mb,
        "manufacturer": old.manufacturer,
        "processor": "BCM2835",
        "board_revision": old.board_revision,
    }
