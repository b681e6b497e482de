"""CAN frames as ``can.*`` speaks them: identifiers, hex payloads, filters and frame dicts.

Pure functions over python-can's ``Message``; every malformed argument is an
:class:`~device_modules.errors.InvalidArguments` that says what was wrong.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from device_modules.errors import InvalidArguments

if TYPE_CHECKING:
    from can import Message
    from can.typechecking import CanFilter

__all__ = ["MAX_EXTENDED", "MAX_STANDARD", "frame", "message", "parse_data", "parse_filters", "parse_id"]

MAX_STANDARD = 0x7FF
MAX_EXTENDED = 0x1FFFFFFF


def parse_id(value: int | str, name: str = "arbitration_id") -> tuple[int, bool]:
    """An identifier and whether it was written as a 29-bit one (hex text longer than 3 digits).

    Ints are taken as they are; text is hex, with or without ``0x`` (``"7DF"``, ``"0x18DB33F1"``).
    """
    if isinstance(value, bool):
        raise InvalidArguments(f"{name} must be an int or hex text, not {value!r}")
    if isinstance(value, int):
        ident, wide = value, value > MAX_STANDARD
    elif isinstance(value, str):
        text = value.strip().lower().removeprefix("0x")
        try:
            ident = int(text, 16)
        except ValueError as exc:
            raise InvalidArguments(f"{name} is not hex: {value!r}") from exc
        wide = len(text) > 3 or ident > MAX_STANDARD
    else:
        raise InvalidArguments(f"{name} must be an int or hex text, not {type(value).__name__}")
    if not 0 <= ident <= MAX_EXTENDED:
        raise InvalidArguments(f"{name} 0x{ident:X} is outside 0..0x1FFFFFFF")
    return ident, wide


def parse_data(value: str) -> bytes:
    """A payload of 0 to 8 bytes from hex text (``"02010C"``, ``"02 01 0c"``, ``"02:01:0C"``)."""
    if not isinstance(value, str):
        raise InvalidArguments(f"data must be hex text, not {type(value).__name__}")
    try:
        data = bytes.fromhex(value.replace(":", " "))
    except ValueError as exc:
        raise InvalidArguments(f"data is not hex: {value!r}") from exc
    if len(data) > 8:
        raise InvalidArguments(f"a CAN frame carries at most 8 bytes, not {len(data)}")
    return data


def parse_filters(value: Sequence[Mapping[str, Any]] | None) -> list[CanFilter] | None:
    """python-can filters from ``[{"can_id": 0x7E8, "can_mask": 0x7F8, "extended": False}]``.

    ``can_id`` and ``can_mask`` may be ints or hex text; ``extended`` is optional.
    """
    if value is None:
        return None
    if isinstance(value, Mapping) or not isinstance(value, Sequence) or isinstance(value, str):
        raise InvalidArguments("filters must be a list of {can_id, can_mask[, extended]} mappings")
    out: list[CanFilter] = []
    for item in value:
        if not isinstance(item, Mapping) or not {"can_id", "can_mask"} <= set(item):
            raise InvalidArguments(f"a filter needs can_id and can_mask: {item!r}")
        unknown = set(item) - {"can_id", "can_mask", "extended"}
        if unknown:
            raise InvalidArguments(f"unknown filter keys: {', '.join(sorted(unknown))}")
        can_id, _ = parse_id(item["can_id"], "can_id")
        can_mask, _ = parse_id(item["can_mask"], "can_mask")
        entry: CanFilter = {"can_id": can_id, "can_mask": can_mask}
        if "extended" in item:
            if not isinstance(item["extended"], bool):
                raise InvalidArguments(f"filter 'extended' must be true or false, not {item['extended']!r}")
            entry["extended"] = item["extended"]
        out.append(entry)
    return out


def message(arbitration_id: int | str, data: str, is_extended_id: bool | None) -> Message:
    """A frame to send; ``is_extended_id=None`` picks 29-bit for ids above 0x7FF or long hex text."""
    from can import Message

    ident, wide = parse_id(arbitration_id)
    if is_extended_id is not None and not isinstance(is_extended_id, bool):
        raise InvalidArguments(f"is_extended_id must be true, false or null, not {is_extended_id!r}")
    extended = wide if is_extended_id is None else is_extended_id
    if not extended and ident > MAX_STANDARD:
        raise InvalidArguments(f"0x{ident:X} does not fit an 11-bit identifier")
    return Message(arbitration_id=ident, data=parse_data(data), is_extended_id=extended)


def frame(msg: Message, received: float | None = None) -> dict[str, Any]:
    """A received frame as a dict; ``timestamp`` is wall-clock seconds.

    Interfaces that stamp frames with wall-clock time (socketcan, virtual) keep
    their stamp; the others (python-can ``serial`` sends the sender's counter)
    get the time it was received here.
    """
    stamp = msg.timestamp if msg.timestamp > 1e9 and math.isfinite(msg.timestamp) else None
    return {
        "timestamp": stamp if stamp is not None else (received if received is not None else time.time()),
        "arbitration_id": msg.arbitration_id,
        "is_extended_id": msg.is_extended_id,
        "dlc": msg.dlc,
        "data": bytes(msg.data).hex(),
    }
