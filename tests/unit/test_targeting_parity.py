"""Our targeting decides exactly as real Salt's matchers do.

``salt_matcher_oracle.py`` runs under the Salt virtualenv's interpreter, imports
Salt's own matcher modules through its loader, and answers every case here in
one subprocess; each verdict is compared with ``Target.matches``. The cases are
a fixed table over every target type, plus seeded random compound expressions
drawn from the grammar. Expressions we reject up front are checked to be ones
Salt's minion drops too (False or an exception), except the documented cases
where Salt evaluates something meaningless.
"""

from __future__ import annotations

import itertools
import json
import random
import subprocess
from pathlib import Path
from typing import Any

import pytest

from edge_minion.targeting import TargetSyntaxError, parse

ROOT = Path(__file__).resolve().parents[2]
SALT_PYTHON = ROOT / ".salt-venv" / "bin" / "python"
ORACLE = Path(__file__).with_name("salt_matcher_oracle.py")

pytestmark = pytest.mark.salt

CAR: dict[str, Any] = {
    "role": "car", "model": "Raspberry Pi 4 Model B Rev 1.4", "os": "Debian", "osrelease": "12",
    "ipv4": ["127.0.0.1", "10.1.2.3"], "ipv6": ["::1", "fe80::ba27:ebff:fe01:2345"],
    "roles": ["car", "camera"], "num_cpus": 4, "enabled": True, "nothing": None, "empty": {},
    "gpu": {"vendor": "Broadcom", "mem": {"size": "76M"}, "flags": ["h264", "hevc"]},
    "tags": [{"site": "lyon"}, {"zone": "b"}], "path": "/usr/bin:/bin", "ports": {"8080": "http"},
    "ratio": 1.5, "cpu_model": "ARMv7 Processor rev 3 (v7l)",
}
GATEWAY: dict[str, Any] = {
    "role": "gateway", "model": "Raspberry Pi 3 Model B Plus Rev 1.3", "os": "Raspbian", "osrelease": "11",
    "ipv4": ["192.168.1.10", "10.2.0.1"], "ipv6": [], "roles": ["gateway", "router"], "num_cpus": 4,
    "enabled": False, "gpu": {"vendor": "broadcom"}, "tags": [{"site": "paris"}], "ports": {},
}
ODD: dict[str, Any] = {
    "role": "CAR", "model": "Pi:5", "os": "Debian", "a": {"b": {"c": "d"}, "x": ["y", {"z": "w"}]},
    "a:b": "colon-key", "ipv4": "10.1.2.30", "ipv6": "fe80::1", "list": [["nested"], 3],
    "deep": {"er": {"est": "value"}}, "roles": [],
}
MINIONS: list[tuple[str, dict[str, Any]]] = [
    ("car-000001", CAR), ("car-000007", CAR), ("gw-01", GATEWAY), ("odd,one", ODD), ("bare", {}),
]

# (tgt, tgt_type, delimiter)
TABLE: list[tuple[Any, str, str]] = [
    # glob: fnmatch on the id
    ("*", "glob", ":"), ("car-*", "glob", ":"), ("car-00000?", "glob", ":"), ("car-00000[1-5]", "glob", ":"),
    ("car-00000[!1]", "glob", ":"), ("CAR-*", "glob", ":"), ("gw-01", "glob", ":"), ("[", "glob", ":"),
    ("odd,one", "glob", ":"), ("", "glob", ":"), ("*-0?", "glob", ":"),
    # pcre: re.match, anchored at the start only
    ("car", "pcre", ":"), ("car-0+1$", "pcre", ":"), (".*01", "pcre", ":"), ("gw|car", "pcre", ":"),
    ("000001", "pcre", ":"), ("(?i)CAR", "pcre", ":"),
    # list: comma string (Salt's substring test) or list
    ("car-000001,gw-01", "list", ":"), ("car-000007", "list", ":"), ("car,gw", "list", ":"),
    ("odd,one,bare", "list", ":"), ("x,odd,one", "list", ":"), ("odd", "list", ":"),
    (["car-000001", "bare"], "list", ":"), (["odd,one"], "list", ":"), ("a,,b", "list", ":"),
    # grain: subdict_match, glob, case-insensitive
    ("role:car", "grain", ":"), ("role:CAR", "grain", ":"), ("role:c*", "grain", ":"), ("roles:cam*", "grain", ":"),
    ("roles:router", "grain", ":"), ("model:*Pi?4*", "grain", ":"), ("model:*pi 4*", "grain", ":"),
    ("gpu:vendor:broadcom", "grain", ":"), ("gpu:mem:size:76*", "grain", ":"), ("gpu:mem", "grain", ":"),
    ("gpu:*", "grain", ":"), ("gpu:vendor", "grain", ":"), ("gpu:vend*", "grain", ":"),
    ("gpu:*:76M", "grain", ":"), ("gpu:flags:hevc", "grain", ":"), ("tags:site:lyon", "grain", ":"),
    ("tags:zone:*", "grain", ":"), ("tags:0:site:lyon", "grain", ":"), ("tags:1:zone:b", "grain", ":"),
    ("tags:-1:site:paris", "grain", ":"), ("num_cpus:4", "grain", ":"), ("num_cpus:[0-9]", "grain", ":"),
    ("enabled:true", "grain", ":"), ("enabled:True", "grain", ":"), ("enabled:false", "grain", ":"),
    ("nothing:none", "grain", ":"), ("empty:*", "grain", ":"), ("path:/usr/bin:/bin", "grain", ":"),
    ("path:/usr/bin*", "grain", ":"), ("a:b:c", "grain", ":"), ("a:b:colon-key", "grain", ":"),
    ("a:b", "grain", ":"), ("a:x:y", "grain", ":"), ("a:x:z:w", "grain", ":"), ("a:x:1:z:w", "grain", ":"),
    ("*:d", "grain", ":"), ("*:*:d", "grain", ":"), ("*:value", "grain", ":"), ("*:*:value", "grain", ":"),
    ("model:pi:5", "grain", ":"), ("model:Pi:*", "grain", ":"), ("list:nested", "grain", ":"),
    ("list:3", "grain", ":"), ("list:['nested']", "grain", ":"), ("ports:8080:http", "grain", ":"),
    ("ports:8080", "grain", ":"), ("ratio:1.5", "grain", ":"), ("deep:er:est:val*", "grain", ":"),
    ("deep:er:*", "grain", ":"), ("deep:*", "grain", ":"), ("cpu_model:*(v7l)", "grain", ":"),
    ("missing:*", "grain", ":"), ("role:", "grain", ":"), ("ipv4:10.1.*", "grain", ":"),
    ("role|car", "grain", "|"), ("gpu|vendor|broad*", "grain", "|"), ("path|/usr/bin:/bin", "grain", "|"),
    ("a|b|c", "grain", "|"), ("*|d", "grain", "|"), ("gpu.mem.size.76m", "grain", "."),
    # grain_pcre: the same walk, regex on the lower-cased value
    ("role:car", "grain_pcre", ":"), ("role:c.r$", "grain_pcre", ":"), ("os:(debian|raspbian)", "grain_pcre", ":"),
    ("model:.*Pi 4", "grain_pcre", ":"), ("model:raspberry", "grain_pcre", ":"), ("roles:cam", "grain_pcre", ":"),
    ("gpu:vendor:^broad", "grain_pcre", ":"), ("gpu:ven.*", "grain_pcre", ":"), ("num_cpus:\\d", "grain_pcre", ":"),
    ("num_cpus:\\D", "grain_pcre", ":"), ("osrelease:1[12]", "grain_pcre", ":"), ("tags:site:ly", "grain_pcre", ":"),
    ("a:b:c", "grain_pcre", ":"), ("*:d", "grain_pcre", ":"), ("path:/usr/bin:/bin$", "grain_pcre", ":"),
    ("role|ca", "grain_pcre", "|"),
    # pillar (the pillar is the minion's grains here, to exercise the same walk)
    ("role:car", "pillar", ":"), ("gpu:vendor:Broad*", "pillar", ":"), ("role|car", "pillar", "|"),
    ("role:c.r", "pillar_pcre", ":"), ("role:car", "pillar_exact", ":"), ("role:ca*", "pillar_exact", ":"),
    ("gpu:vendor:broadcom", "pillar_exact", ":"),
    # ipcidr
    ("10.1.0.0/16", "ipcidr", ":"), ("10.1.2.3", "ipcidr", ":"), ("10.1.2.3/32", "ipcidr", ":"),
    ("192.168.0.0/16", "ipcidr", ":"), ("10.0.0.0/8", "ipcidr", ":"), ("0.0.0.0/0", "ipcidr", ":"),
    ("fe80::/10", "ipcidr", ":"), ("::1", "ipcidr", ":"), ("fe80::1", "ipcidr", ":"), ("2001:db8::/32", "ipcidr", ":"),
    ("10.1.2.2/31", "ipcidr", ":"),
    # compound
    ("G@role:car and car-*", "compound", ":"), ("G@role:car and not L@car-000007", "compound", ":"),
    ("car-* or gw-*", "compound", ":"), ("not car-*", "compound", ":"), ("car-* not car-000007", "compound", ":"),
    ("G@role:gateway or G@role:car and E@car-0+7", "compound", ":"),
    ("( G@role:gateway or G@role:car ) and E@car-0+7", "compound", ":"),
    ("not ( G@role:car or G@role:gateway )", "compound", ":"), ("( car-* ) not G@enabled:true", "compound", ":"),
    ("P@os:deb.* and S@10.1.0.0/16", "compound", ":"), ("S@10.2.0.0/16 or S@fe80::/10", "compound", ":"),
    ("G|@gpu|vendor|broad*", "compound", ":"), ("P|@gpu|vendor|^b", "compound", ":"),
    ("I@role:car and G@role:car", "compound", ":"), ("J@role:ca and bare", "compound", ":"),
    ("L@car-000001,gw-01 and not E@gw", "compound", ":"), ("not not-a-minion", "compound", ":"),
    ("* and not G@role:car and not G@role:gateway", "compound", ":"),
    ("G@path:/usr/bin:/bin or G@a:b:colon-key", "compound", ":"),
    ("( ( car-* ) ) and ( not ( gw-* ) )", "compound", ":"),
    (["G@model:*Pi 4*", "and", "car-*"], "compound", ":"), (["car-*", "or", "bare"], "compound", ":"),
    ("G@role:car", "compound", "|"),
]

NODEGROUPS: dict[str, Any] = {
    "cars": "G@role:car", "gateways": "gw-* or G@role:gateway", "ids": "car-000001 gw-01",
    "idlist": ["car-000007", "bare"], "regexish": "car-00000? gw-0(1)", "nested": "N@cars and not N@ids",
    "deep": "N@nested or bare", "ops": "car-* or bare", "listcompound": ["G@role:car", "and", "not", "car-000007"],
    "single": "gw-01",
}
NODEGROUP_TABLE: list[tuple[str, str]] = [
    ("cars", "nodegroup"), ("gateways", "nodegroup"), ("ids", "nodegroup"), ("idlist", "nodegroup"),
    ("regexish", "nodegroup"), ("nested", "nodegroup"), ("deep", "nodegroup"), ("listcompound", "nodegroup"),
    ("single", "nodegroup"),
    ("N@cars and not N@ids", "compound"), ("gw-01 and N@ops", "compound"), ("not N@ops", "compound"),
    ("N@nested or gw-*", "compound"), ("G@role:car and N@gateways", "compound"), ("N@regexish", "compound"),
    ("bare or N@idlist", "compound"), ("not N@deep", "compound"),
]

# Expressions we refuse; Salt's minion evaluates them to False (or raises) for every minion.
REJECTED: list[tuple[Any, str]] = [
    ("", "compound"), ("and car-*", "compound"), ("car-* and", "compound"), ("car-* or or gw-*", "compound"),
    ("( car-*", "compound"), ("car-* )", "compound"), ("car-* gw-*", "compound"), ("car-* ( gw-* )", "compound"),
    ("not not car-*", "compound"), ("( and car-* )", "compound"), ("G@model:*Pi 4*", "compound"),
    ("E@(", "compound"), ("R@%cluster", "compound"), ("G@role", "compound"), ("role", "grain"),
    ("car-* and S@10.1.0.1/16", "compound"), ("car-* or not", "compound"), ("G@role:car not not gw-*", "compound"),
    ("os:(", "grain_pcre"), ("10.1.2.3/31", "ipcidr"), ("N@nope", "compound"), ("nope", "nodegroup"),
    ("car-* and ( )", "compound"),
]


def random_compound(rng: random.Random, depth: int = 0) -> str:
    """A random, valid compound expression in Salt's syntax."""
    if depth >= 3 or rng.random() < 0.35:
        return rng.choice(ATOMS)
    kind = rng.random()
    if kind < 0.2:
        inner = random_compound(rng, depth + 1)
        return f"not ( {inner} )" if inner.startswith("not") or rng.random() < 0.5 else f"not {inner}"
    operator = rng.choice(["and", "or", "and", "or", "implicit-not"])
    left, right = random_compound(rng, depth + 1), random_compound(rng, depth + 1)
    if rng.random() < 0.4:
        left = f"( {left} )"
    if rng.random() < 0.4:
        right = f"( {right} )"
    if operator == "implicit-not" and not left.startswith("not") and not right.startswith("not"):
        return f"{left} not {right}"
    if operator == "implicit-not":
        operator = "and"
    return f"{left} {operator} {right}"


ATOMS = [
    "car-*", "gw-?1", "*", "bare", "odd,one", "car-00000[1-3]", "G@role:car", "G@role:gateway", "G@roles:cam*",
    "G@gpu:vendor:broad*", "G@model:*Pi?4*", "G@tags:site:lyon", "G@num_cpus:4", "G@enabled:true", "G@a:b:c",
    "G@*:d", "G@deep:*", "P@os:deb.*", "P@model:.*pi.3", "P@osrelease:1[12]", "L@car-000001,gw-01",
    "L@odd,one", "E@car-0+7", "E@gw", "S@10.1.0.0/16", "S@192.168.1.10", "S@fe80::/10", "I@role:car", "J@os:r",
    "G|@gpu|mem|size|76*", "G@path:/usr/bin:/bin", "G@ports:8080:http",
]


def _cases() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(parity cases, rejected cases), each a JSON-able dict the oracle understands."""
    rng = random.Random(20261123)
    expressions: list[tuple[Any, str, str, dict[str, Any]]] = [(t, k, d, {}) for t, k, d in TABLE]
    expressions += [(t, k, ":", NODEGROUPS) for t, k in NODEGROUP_TABLE]
    expressions += [(random_compound(rng), "compound", ":", {}) for _ in range(150)]
    parity = []
    for (tgt, tgt_type, delimiter, nodegroups), (mid, grains) in itertools.product(expressions, MINIONS):
        pillar = grains if tgt_type.startswith("pillar") or "I@" in str(tgt) or "J@" in str(tgt) else {}
        parity.append({"id": mid, "grains": grains, "pillar": pillar, "tgt": tgt, "tgt_type": tgt_type,
                       "delimiter": delimiter, "nodegroups": nodegroups})
    rejected = [{"id": mid, "grains": grains, "tgt": tgt, "tgt_type": tgt_type, "nodegroups": NODEGROUPS}
                for (tgt, tgt_type), (mid, grains) in itertools.product(REJECTED, MINIONS)]
    return parity, rejected


def _salt_answers(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not SALT_PYTHON.exists():
        pytest.fail(f"no Salt virtualenv at {SALT_PYTHON.parent.parent}: run tools/salt-env to build it")
    proc = subprocess.run([str(SALT_PYTHON), str(ORACLE)], input=json.dumps(cases), capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    answers: list[dict[str, Any]] = json.loads(proc.stdout)
    assert len(answers) == len(cases)
    return answers


@pytest.fixture(scope="module")
def salt_verdicts() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    parity, rejected = _cases()
    answers = _salt_answers(parity + rejected)
    return parity, answers[:len(parity)], rejected, answers[len(parity):]


def ours(case: dict[str, Any]) -> bool:
    target = parse(case["tgt"], case["tgt_type"], nodegroups=case.get("nodegroups"),
                   delimiter=case.get("delimiter", ":") if case["tgt_type"] in ("grain", "grain_pcre", "pillar")
                   else ":")
    return target.matches(case["id"], case["grains"], case.get("pillar"))


def test_parity_with_salt_matchers(salt_verdicts: Any) -> None:
    parity, answers, _, _ = salt_verdicts
    assert len(parity) >= 1500
    mismatches = []
    for case, answer in zip(parity, answers, strict=True):
        assert "error" not in answer, (case, answer)
        try:
            verdict: bool | str = ours(case)
        except TargetSyntaxError as exc:
            verdict = f"rejected: {exc}"
        if verdict != answer["verdict"]:
            mismatches.append((case["tgt"], case["tgt_type"], case["id"], answer["verdict"], verdict))
    assert mismatches == []


def test_every_table_case_is_exercised_both_ways(salt_verdicts: Any) -> None:
    parity, answers, _, _ = salt_verdicts
    verdicts: dict[tuple[str, str], set[bool]] = {(str(case["tgt"]), case["tgt_type"]): set() for case in parity}
    for case, answer in zip(parity, answers, strict=True):
        verdicts[(str(case["tgt"]), case["tgt_type"])].add(answer["verdict"])
    both = sum(1 for seen in verdicts.values() if seen == {True, False})
    assert both >= len(verdicts) // 2  # the table discriminates, it does not just say False


def test_rejected_expressions_are_dropped_by_salt_too(salt_verdicts: Any) -> None:
    _, _, rejected, answers = salt_verdicts
    for case, answer in zip(rejected, answers, strict=True):
        with pytest.raises(TargetSyntaxError):
            ours(case)
        assert answer.get("verdict") in (False, None), (case["tgt"], case["id"], answer)


YAML_KEYS = ["1", "-7", "0x1f", "017", "0b101", "1_000", "1:30", "1.5", "-.5", ".inf", "-.Inf", ".NaN", "1e5",
             "1.0e+3", "true", "False", "yes", "No", "on", "OFF", "y", "null", "~", "None", "none", "NULL", "",
             " ", "---", "'quoted'", '"dq"', " 12 ", "abc", " abc", "a b", "#", "1 # c", "2024-01-01", "[1]",
             "{a: 1}", "a: b", "0_", "0b_", "+12", "١٢", "0o17", "1__0", "010", "-017", "00", "09", "08.5",
             "0x_1", "1:30:00", "1:60", "190:20:30.15", "-1:30", "0.", "+.inf", ".5e+3", "1_000.5", "Yes ",
             "  true", "'a''b'", "a b ", "x:y", "-", "-a", "1.5.6", "0b2", "1e+5", "TRUE", "tRUE", "1#c", "'a' # c"]
# Not covered: double-quoted keys with backslash escapes (Salt unescapes them; we keep the text).


def test_yaml_key_fallback_matches_salt() -> None:
    from edge_minion.targeting.scalars import yaml_scalar

    answers = _salt_answers([{"op": "yamlify", "text": text} for text in YAML_KEYS])
    mismatches = []
    for text, answer in zip(YAML_KEYS, answers, strict=True):
        value = yaml_scalar(text)
        expected_type = answer["type"] if answer["type"] in ("int", "float", "bool", "NoneType", "str") else "str"
        expected_repr = answer["repr"] if answer["type"] == expected_type else repr(text)
        if (type(value).__name__, repr(value)) != (expected_type, expected_repr):
            mismatches.append((text, value, answer))
    assert mismatches == []
