"""Salt's msgpack dialect.

Salt packs with ``use_bin_type=False`` (str and bytes both travel as the old
"raw" type) and unpacks with ``raw=True``, then turns every bytes value or key
that is valid UTF-8 back into ``str``. Ext type 78 carries a datetime as text.
Sets and tuples travel as arrays.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
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


def pack_array(packed: Sequence[bytes]) -> bytes:
    """A msgpack array of already-packed items (no repacking of each item)."""
    header: bytes = msgpack.Packer().pack_array_header(len(packed))
    return header + b"".join(packed)


def _text(raw: bytes) -> str | bytes:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def decode_embedded_strs(obj: Any) -> Any:
    """Turn valid-UTF-8 bytes into str, recursively (Salt's rule).

    Written for speed (it runs on every request the master opens): scalars are
    handled inline and only containers recurse.
    """
    kind = type(obj)
    if kind is bytes:
        return _text(obj)
    if kind is dict:
        out = {}
        for key, value in obj.items():
            if type(key) is bytes:
                key = _text(key)
            vkind = type(value)
            if vkind is bytes:
                value = _text(value)
            elif vkind is dict or vkind is list:
                value = decode_embedded_strs(value)
            out[key] = value
        return out
    if kind is list:
        return [_text(v) if type(v) is bytes else decode_embedded_strs(v) if type(v) in (dict, list) else v
                for v in obj]
    if isinstance(obj, bytes | dict | list):  # subclasses: the general, slower route
        if isinstance(obj, bytes):
            return _text(bytes(obj))
        if isinstance(obj, dict):
            return {decode_embedded_strs(k): decode_embedded_strs(v) for k, v in obj.items()}
        return [decode_embedded_strs(v) for v in obj]
    return obj


def loads(data: bytes, max_size: int | None = None) -> Any:
    """Unpack Salt's msgpack; anything undecodable raises MalformedMessage."""
    if max_size is not None and len(data) > max_size:
        from edge_minion.protocol.errors import MessageTooLarge

        raise MessageTooLarge(f"message of {len(data)} bytes exceeds {max_size}")
    if b"\xc4" not in data and b"\xc5" not in data and b"\xc6" not in data:
        # Fast path: no bin 8/16/32 type byte anywhere (a false hit inside a string only costs the slow path),
        # so no bin-typed item: unpacking with raw=False gives exactly what
        # raw=True + decode_embedded_strs gives, as long as every str is valid UTF-8 (else: slow path).
        try:
            return msgpack.unpackb(data, raw=False, ext_hook=_ext_hook, strict_map_key=False, use_list=True)
        except UnicodeDecodeError:
            pass
        except Exception as exc:  # msgpack raises several unrelated types on garbage
            raise MalformedMessage(f"undecodable msgpack: {exc}") from exc
    try:
        obj = msgpack.unpackb(
            data, raw=True, ext_hook=_ext_hook, strict_map_key=False, use_list=True
        )
    except Exception as exc:  # msgpack raises several unrelated types on garbage
        raise MalformedMessage(f"undecodable msgpack: {exc}") from exc
    return decode_embedded_strs(obj)
