"""Each simple target type, table-driven: glob, pcre, list, grain, grain_pcre, pillar*, ipcidr.

Verdicts follow Salt's matchers (``test_targeting_parity`` checks most of these
rows against real Salt); rows marked "Salt quirk" pin down behaviour people do
not expect but Salt has.
"""

from __future__ import annotations

from typing import Any

import pytest

from edge_minion.targeting import parse

PI4: dict[str, Any] = {
    "id": "car-0001", "role": "car", "model": "Raspberry Pi 4 Model B Rev 1.4", "os": "Debian",
    "roles": ["car", "camera"], "num_cpus": 4, "enabled": True, "nothing": None, "empty": {},
    "gpu": {"vendor": "Broadcom", "mem": {"size": "76M"}, "flags": ["h264", "hevc"]},
    "tags": [{"site": "lyon"}, {"zone": "b"}], "path": "/usr/bin:/bin", "ipv4": ["127.0.0.1", "10.1.2.3"],
    "ipv6": ["::1", "fe80::ba27:ebff:fe01:2345"], "a:b": "colon-key", "a": {"b": "nested"},
}


@pytest.mark.parametrize(("tgt", "minion_id", "expected"), [
    ("*", "car-0001", True),
    ("car-*", "car-0001", True),
    ("car-*", "gw-01", False),
    ("car-000?", "car-0001", True),
    ("car-000[1-3]", "car-0004", False),
    ("car-000[!1]", "car-0002", True),
    ("CAR-*", "car-0001", False),  # case-sensitive on POSIX
    ("car-0001", "car-0001", True),
    ("car-0001", "car-00011", False),
    ("", "car-0001", False),
    ("[", "[", True),  # an unclosed bracket is a literal
    ("*01", "car-0001", True),
])
def test_glob(tgt: str, minion_id: str, expected: bool) -> None:
    assert parse(tgt).matches(minion_id, {}) is expected


@pytest.mark.parametrize(("tgt", "minion_id", "expected"), [
    ("car", "car-0001", True),  # anchored at the start only
    ("0001", "car-0001", False),
    (".*0001", "car-0001", True),
    ("car-0+1$", "car-0001", True),
    ("gw|car", "car-0001", True),
    ("(?i)CAR", "car-0001", True),
    ("car$", "car-0001", False),
])
def test_pcre(tgt: str, minion_id: str, expected: bool) -> None:
    assert parse(tgt, "pcre").matches(minion_id, {}) is expected


@pytest.mark.parametrize(("tgt", "minion_id", "expected"), [
    ("car-0001,gw-01", "car-0001", True),
    ("car-0001,gw-01", "gw-01", True),
    ("car-0001,gw-01", "car", False),
    ("car-0001", "car-0001", True),
    ("car-0001, gw-01", "gw-01", False),  # no trimming: ' gw-01' is another id
    (["car-0001", "gw-01"], "gw-01", True),
    (["car-0001", "gw-01"], "car", False),
    ("odd,one,bare", "odd,one", True),  # Salt quirk: a comma id matches a run of elements
    ("x,odd,one", "odd,one", True),
    ("odd", "odd,one", False),
    ("a,,b", "", True),
])
def test_list(tgt: Any, minion_id: str, expected: bool) -> None:
    assert parse(tgt, "list").matches(minion_id, {}) is expected


@pytest.mark.parametrize(("tgt", "expected"), [
    ("role:car", True),
    ("role:CAR", True),  # values and patterns are compared lower-cased
    ("role:c*", True),
    ("role:gateway", False),
    ("roles:camera", True),  # a list matches when any element does
    ("roles:cam*", True),
    ("model:*Pi?4*", True),
    ("model:*pi 4*", True),
    ("gpu:vendor:broadcom", True),
    ("gpu:mem:size:76*", True),
    ("gpu:vendor", True),  # names a key of the dict
    ("gpu:vend*", True),  # ... or globs one
    ("gpu:*", True),  # '*': the key exists
    ("gpu:*:broad*", True),  # '*:' searches the values one level down...
    ("gpu:*:76M", False),  # ... and no further
    ("gpu:*:*:76M", True),
    ("gpu:flags:hevc", True),
    ("gpu:mem", True),
    ("tags:site:lyon", True),  # keys reach into dicts held by a list
    ("tags:0:site:lyon", True),  # ... and numeric keys index it
    ("tags:1:site:lyon", False),
    ("tags:-1:zone:b", True),
    ("num_cpus:4", True),  # non-strings compare as str(value)
    ("enabled:true", True),
    ("nothing:none", True),
    ("empty:*", False),  # an empty dict counts as missing
    ("path:/usr/bin:/bin", True),  # the delimiter may appear in the value
    ("path:/usr/bin*", True),
    ("a:b:nested", True),
    ("a:b:colon-key", False),  # Salt quirk: a key holding the delimiter cannot be reached
    ("missing:*", False),
    ("role:", False),
])
def test_grain(tgt: str, expected: bool) -> None:
    assert parse(tgt, "grain").matches("car-0001", PI4) is expected


@pytest.mark.parametrize(("tgt", "delimiter", "expected"), [
    ("role|car", "|", True),
    ("gpu|vendor|broad*", "|", True),
    ("path|/usr/bin:/bin", "|", True),
    ("gpu.mem.size.76m", ".", True),
    ("role:car", "|", "needs"),
])
def test_grain_delimiter(tgt: str, delimiter: str, expected: Any) -> None:
    if expected == "needs":
        with pytest.raises(ValueError, match="needs 'key|value'"):
            parse(tgt, "grain", delimiter=delimiter)
    else:
        assert parse(tgt, "grain", delimiter=delimiter).matches("car-0001", PI4) is expected


@pytest.mark.parametrize(("tgt", "expected"), [
    ("role:car", True),
    ("role:c.r$", True),
    ("os:(debian|raspbian)", True),
    ("model:.*Pi 4", True),  # the pattern is lower-cased like the value
    ("model:pi", False),  # re.match: anchored at the start of the value
    ("roles:cam", True),
    ("gpu:vendor:^broad", True),
    ("num_cpus:\\d", True),
    ("num_cpus:\\D", True),  # Salt quirk: lower-casing turns \D into \d
])
def test_grain_pcre(tgt: str, expected: bool) -> None:
    assert parse(tgt, "grain_pcre").matches("car-0001", PI4) is expected


def test_numeric_and_boolean_keys_are_reached_through_yaml_loading() -> None:
    grains = {"ports": {8080: "http", 0x1F: "hex"}, "flags": {True: "yes"}, "versions": {1.5: "old"}}
    assert parse("ports:8080:http", "grain").matches("m", grains)
    assert parse("ports:0x1f:hex", "grain").matches("m", grains)
    assert parse("flags:true:yes", "grain").matches("m", grains)
    assert parse("versions:1.5:old", "grain").matches("m", grains)
    assert not parse("ports:8081:*", "grain").matches("m", grains)


@pytest.mark.parametrize(("tgt", "tgt_type", "expected"), [
    ("role:car", "pillar", True),
    ("gpu:vendor:Broad*", "pillar", True),
    ("role:c.r", "pillar_pcre", True),
    ("role:car", "pillar_exact", True),
    ("role:ca*", "pillar_exact", False),  # exact: no glob
    ("gpu:vendor:broadcom", "pillar_exact", True),  # still case-insensitive
])
def test_pillar(tgt: str, tgt_type: str, expected: bool) -> None:
    assert parse(tgt, tgt_type).matches("car-0001", {}, pillar=PI4) is expected
    assert parse(tgt, tgt_type).matches("car-0001", PI4) is False  # pillar is not grains; absent means empty


@pytest.mark.parametrize(("tgt", "grains", "expected"), [
    ("10.1.0.0/16", PI4, True),
    ("10.1.2.3", PI4, True),
    ("10.1.2.3/32", PI4, True),
    ("10.1.2.2/31", PI4, True),
    ("10.1.2.4/31", PI4, False),
    ("10.0.0.0/8", PI4, True),
    ("10.0.0.0/12", PI4, True),
    ("10.16.0.0/12", PI4, False),
    ("0.0.0.0/0", PI4, True),
    ("192.168.0.0/16", PI4, False),
    ("fe80::/10", PI4, True),
    ("::1", PI4, True),
    ("2001:db8::/32", PI4, False),
    ("10.1.0.0/16", {}, False),
    ("10.1.0.0/16", {"ipv4": "10.1.2.3"}, True),  # a lone string is one address
    ("10.1.2.3", {"ipv4": "10.1.2.30"}, True),  # Salt quirk: an address tests a lone string by substring
    ("10.1.0.0/16", {"ipv4": ["garbage", "10.1.9.9"]}, True),  # non-addresses are skipped
    ("10.1.0.0/16", {"ipv4": ["10.1.02.3"]}, False),  # not a valid address (leading zero)
    ("10.1.0.0/16", {"ipv4": [167838211]}, True),  # an integer is an address too (10.1.2.3)
    ("10.1.0.0/16", {"ipv4": ["fe80::1"]}, False),
    ("10.1.0.0/16", {"ipv4": None}, False),
])
def test_ipcidr(tgt: str, grains: dict[str, Any], expected: bool) -> None:
    assert parse(tgt, "ipcidr").matches("car-0001", grains) is expected
