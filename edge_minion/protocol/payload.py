"""Salt's msgpack dialect.

Salt packs with ``use_bin_type=False`` (str and bytes both travel as the old
"raw" type) and unpacks with ``raw=True``, then turns every bytes value or key
that is valid UTF-8 back into ``str``. Ext type 78 carries a datetime as text.
Sets and tuples travel as arrays.
"""

from __future__ import annotations

import datetime
from typing import Any

import msgpack

from edge_minion.protocol.errors import MalformedMessage

_DATETIME_EXT = 78
_DATETIME_FMT = "%Y%m%dT%H:%M:%S.%f"


def _default(obj: Any) -> Any:
    if isinstance(obj, (set, frozenset)):
        return list(obj)
    if isinstance(obj, datetime.datetime):
        return msgpack.ExtType(_DATETIME_EXT, obj.strftime(_DATETIME_FMT).encode())
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def _ext_hook(code: int, data: bytes) -> Any:
    if code == _DATETIME_EXT:
        return datetime.datetime.strptime(data.decode(), _DATETIME_FMT)
    return msgpack.ExtType(code, data)


def dumps(obj: Any) -> bytes:
    """Pack ``obj`` the way Salt does."""
    try:
        return msgpack.packb(obj, use_bin_type=False, default=_default)  # type: ignore[no-any-return]
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"cannot serialise payload: {exc}") from exc


def decode_embedded_strs(obj: Any) -> Any:
    """Turn valid-UTF-8 bytes into str, recursively (Salt's rule)."""
    if isinstance(obj, bytes):
        try:
            return obj.decode("utf-8")
        except UnicodeDecodeError:
            return obj
    if isinstance(obj, dict):
        return {decode_embedded_strs(k): decode_embedded_strs(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [decode_embedded_strs(v) for v in obj]
    return obj


def loads(data: bytes, max_size: int | None = None) -> Any:
    """Unpack Salt's msgpack; anything undecodable raises MalformedMessage."""
    if max_size is not None and len(data) > max_size:
        from edge_minion.protocol.errors import MessageTooLarge

        raise MessageTooLarge(f"message of {len(data)} bytes exceeds {max_size}")
    try:
        obj = msgpack.unpackb(
            data, raw=True, ext_hook=_ext_hook, strict_map_key=False, use_list=True
        )
    except Exception as exc:  # msgpack raises several unrelated types on garbage
        raise MalformedMessage(f"undecodable msgpack: {exc}") from exc
    return decode_embedded_strs(obj)
