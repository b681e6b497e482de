"""payload.loads must follow Salt's rule exactly: unpack raw, then turn valid-UTF-8 bytes into str."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_minion.protocol import payload
from edge_minion.protocol.errors import MalformedMessage


def salt_rule(data: bytes) -> Any:
    """The reference: what salt.payload.loads does (raw=True, then decode_embedded_strs)."""

    def walk(obj: Any) -> Any:
        if isinstance(obj, bytes):
            try:
                return obj.decode("utf-8")
            except UnicodeDecodeError:
                return obj
        if isinstance(obj, dict):
            return {walk(k): walk(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [walk(v) for v in obj]
        return obj

    return walk(msgpack.unpackb(data, raw=True, strict_map_key=False))


scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), st.floats(allow_nan=False),
                    st.text(max_size=20), st.binary(max_size=20))
keys = st.one_of(st.text(max_size=10), st.binary(max_size=10), st.integers(0, 1000))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(keys, inner, max_size=5),
                      max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(values, st.booleans())
def test_loads_matches_salts_rule(obj: Any, bin_type: bool) -> None:
    data = msgpack.packb(obj, use_bin_type=bin_type)
    assert payload.loads(data) == salt_rule(data)


@pytest.mark.parametrize("obj", [
    {"tok": b"\xff\xc4\x00" * 10, "id": "car-1"},          # invalid UTF-8 packed as str: stays bytes
    {"blob": b"plain"},                                     # valid UTF-8 bytes become str
    {"nested": [{"k": b"\xc5"}, b"\xc6\xc6"]},
])
def test_mixed_payloads_in_both_bin_modes(obj: Any) -> None:
    for bin_type in (False, True):
        data = msgpack.packb(obj, use_bin_type=bin_type)
        assert payload.loads(data) == salt_rule(data)


def test_bin_item_that_is_valid_utf8_becomes_str_like_salt() -> None:
    data = msgpack.packb({"x": b"hello"}, use_bin_type=True)
    assert payload.loads(data) == {"x": "hello"}


def test_datetime_round_trips_through_the_fast_path() -> None:
    when = dt.datetime(2026, 11, 23, 12, 0, 1, 5)
    assert payload.loads(payload.dumps({"when": when}))["when"] == when


@pytest.mark.parametrize("garbage", [b"\xc1", b"\x92\x01", b"\xd9\x05ab"])
def test_garbage_is_a_malformed_message(garbage: bytes) -> None:
    with pytest.raises(MalformedMessage):
        payload.loads(garbage)
