"""Compound expressions and nodegroups: every prefix and operator, Salt's precedence and its quirks."""

from __future__ import annotations

from typing import Any

import pytest

from edge_minion.targeting import NodegroupCycleError, TargetSyntaxError, UnknownNodegroupError, parse

CAR: dict[str, Any] = {"role": "car", "model": "Raspberry Pi 4 Model B Rev 1.4", "os": "Debian",
                       "ipv4": ["127.0.0.1", "10.1.2.3"], "gpu": {"vendor": "Broadcom"}}
GATEWAY: dict[str, Any] = {"role": "gateway", "model": "Raspberry Pi 3 Model B Plus Rev 1.3", "os": "Raspbian",
                           "ipv4": ["192.168.1.10"], "gpu": {"vendor": "broadcom"}}


@pytest.mark.parametrize(("tgt", "minion_id", "grains", "expected"), [
    ("G@role:car", "car-0001", CAR, True),
    ("P@os:deb.*", "car-0001", CAR, True),
    ("L@car-0001,gw-01", "gw-01", GATEWAY, True),
    ("E@car-0+1", "car-0001", CAR, True),
    ("S@10.1.0.0/16", "car-0001", CAR, True),
    ("S@10.1.0.0/16", "gw-01", GATEWAY, False),
    ("car-*", "car-0001", CAR, True),  # a bare word is a glob on the id
    ("G|@gpu|vendor|broad*", "gw-01", GATEWAY, True),  # a word may name its own delimiter
    ("P,@gpu,vendor,^b", "gw-01", GATEWAY, True),
    ("I@role:car", "car-0001", CAR, False),  # pillar: empty unless given
    ("J@role:c", "car-0001", CAR, False),
    ("G@role:car and car-*", "car-0001", CAR, True),
    ("G@role:car and not L@car-0001", "car-0001", CAR, False),
    ("car-* or gw-*", "gw-01", GATEWAY, True),
    ("not car-*", "gw-01", GATEWAY, True),
    ("( car-* or gw-* ) and G@role:gateway", "gw-01", GATEWAY, True),
    ("( ( car-* ) )", "car-0001", CAR, True),
])
def test_terms_and_operators(tgt: str, minion_id: str, grains: dict[str, Any], expected: bool) -> None:
    assert parse(tgt, "compound").matches(minion_id, grains) is expected


def test_pillar_terms_use_the_pillar_when_given() -> None:
    target = parse("I@site:lyon and J@rack:^b", "compound")
    assert target.matches("car-0001", CAR, pillar={"site": "Lyon", "rack": "b12"})
    assert not target.matches("car-0001", CAR, pillar={"site": "paris", "rack": "b12"})


@pytest.mark.parametrize(("tgt", "grouping"), [
    ("a or b and c", "(a or (b and c))"),  # and binds tighter than or
    ("a and b or c", "((a and b) or c)"),
    ("not a and b", "(not a and b)"),  # not binds tightest
    ("not a or b", "(not a or b)"),
    ("a not b", "(a and not b)"),  # Salt puts an 'and' in front of a 'not' that follows a term
    ("( a ) not b", "(a and not b)"),
    ("a or b not c", "(a or (b and not c))"),
    ("not ( a or b )", "not (a or b)"),
    ("a and b and c or d or e", "((a and b and c) or d or e)"),
    ("G@role:car and G@model:*Pi?4* and not L@car-0007 or S@10.1.0.0/16",
     "((G@role:car and G@model:*Pi?4* and not L@car-0007) or S@10.1.0.0/16)"),
])
def test_precedence(tgt: str, grouping: str) -> None:
    assert parse(tgt, "compound").describe() == grouping


@pytest.mark.parametrize(("tgt", "truth"), [
    # with a, b True and c False, as Python's eval of Salt's rewritten sentence says
    ("a or b and c", True),
    ("( a or b ) and c", False),
    ("not a or b", True),
    ("not ( a or b )", False),
    ("c not c", False),
    ("a not c", True),
    ("not c and not c", True),
])
def test_truth_follows_python_eval(tgt: str, truth: bool) -> None:
    words = {"a": "a*", "b": "*b", "c": "c*"}  # a* and *b match the id 'ab', c* does not
    target = parse(" ".join(words.get(word, word) for word in tgt.split()), "compound")
    assert target.matches("ab", {}) is truth


def test_list_target_is_taken_word_by_word_without_splitting() -> None:
    target = parse(["G@model:*Pi 4*", "and", "car-*"], "compound")  # a list element may hold a space
    assert target.matches("car-0001", CAR)
    assert not target.matches("car-0001", GATEWAY)


NODEGROUPS: dict[str, Any] = {
    "cars": "G@role:car",
    "gateways": "gw-* or G@role:gateway",
    "ids": "car-0001 gw-01",  # no operator, no glob, no prefix: a list of ids
    "idlist": ["car-0007", "bare"],
    "regexish": "car-000? gw-0(1)",  # ... unless a word looks like a regex
    "nested": "N@cars and not N@ids",
    "deep": "N@nested or bare",
    "ops": "car-* or bare",
    "listcompound": ["G@role:car", "and", "not", "car-0007"],
    "loop-a": "N@loop-b or x", "loop-b": "N@loop-a",
    "self": "N@self",
    "broken": "N@nowhere",
    "empty": "",
}


@pytest.mark.parametrize(("tgt", "tgt_type", "minion_id", "grains", "expected"), [
    ("cars", "nodegroup", "car-0001", CAR, True),
    ("gateways", "nodegroup", "gw-01", GATEWAY, True),
    ("ids", "nodegroup", "gw-01", GATEWAY, True),
    ("ids", "nodegroup", "gw-02", GATEWAY, False),
    ("idlist", "nodegroup", "bare", {}, True),
    ("regexish", "nodegroup", "car-0001", CAR, False),  # E@car-000?,gw-0(1): one regex, commas and all
    ("regexish", "nodegroup", "car-000,gw-01", {}, True),
    ("nested", "nodegroup", "car-0001", CAR, False),
    ("nested", "nodegroup", "car-0002", CAR, True),
    ("deep", "nodegroup", "bare", {}, True),
    ("listcompound", "nodegroup", "car-0007", CAR, False),
    ("listcompound", "nodegroup", "car-0001", CAR, True),
    ("N@cars and not N@ids", "compound", "car-0002", CAR, True),
    ("not N@ops", "compound", "gw-01", GATEWAY, True),
    ("bare or N@idlist", "compound", "car-0007", CAR, True),
])
def test_nodegroups(tgt: str, tgt_type: str, minion_id: str, grains: dict[str, Any], expected: bool) -> None:
    assert parse(tgt, tgt_type, nodegroups=NODEGROUPS).matches(minion_id, grains) is expected


def test_a_top_level_nodegroup_is_spliced_in_without_parentheses() -> None:
    # Salt quirk: 'gw-01 and N@ops' reads 'gw-01 and car-* or bare', so 'bare' is matched
    target = parse("gw-01 and N@ops", "compound", nodegroups=NODEGROUPS)
    assert target.describe() == "((gw-01 and car-*) or bare)"
    assert target.matches("bare", {})
    # nested nodegroups, and one that nests others, are parenthesised
    assert parse("x and N@nested", "compound", nodegroups=NODEGROUPS).describe() == \
        "(x and (G@role:car and not L@car-0001,gw-01))"


def test_nodegroup_errors() -> None:
    with pytest.raises(UnknownNodegroupError, match="unknown nodegroup 'nope'") as unknown:
        parse("car-* or N@nope", "compound", nodegroups=NODEGROUPS)
    assert unknown.value.position == 9
    with pytest.raises(UnknownNodegroupError) as top:
        parse("nope", "nodegroup", nodegroups=NODEGROUPS)
    assert str(top.value) == "unknown nodegroup 'nope'"
    with pytest.raises(UnknownNodegroupError, match="'nowhere'"):
        parse("broken", "nodegroup", nodegroups=NODEGROUPS)
    with pytest.raises(NodegroupCycleError) as cycle:
        parse("N@loop-a", "compound", nodegroups=NODEGROUPS)
    assert cycle.value.chain == ("loop-a", "loop-b", "loop-a")
    with pytest.raises(NodegroupCycleError):
        parse("self", "nodegroup", nodegroups=NODEGROUPS)
    with pytest.raises(ValueError, match="nodegroup 'empty' is empty"):
        parse("empty", "nodegroup", nodegroups=NODEGROUPS)
    with pytest.raises(UnknownNodegroupError):
        parse("N@cars", "compound")  # no nodegroups configured


def test_errors_inside_a_nodegroup_name_it() -> None:
    with pytest.raises(TargetSyntaxError, match=r"unbalanced parenthesis \(in nodegroup 'bad'\) at 5") as exc:
        parse("x or N@bad", "compound", nodegroups={"bad": "( a or b"})
    assert exc.value.position == 5  # where the N@ word starts
