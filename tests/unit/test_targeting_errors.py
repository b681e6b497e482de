"""Malformed targets fail in ``parse``, with a position and words a Salt user recognises."""

from __future__ import annotations

from typing import Any

import pytest

from edge_minion.targeting import (
    TargetingError,
    TargetSyntaxError,
    UnsupportedTargetTypeError,
    parse,
)
from edge_minion.targeting.compound import MAX_DEPTH

SPACES = "words are split on spaces; in a glob, '?' matches a space"


@pytest.mark.parametrize(("tgt", "message"), [
    ("", "empty target expression at 0"),
    ("and car-*", "'and' with nothing before it at 0"),
    ("or car-*", "'or' with nothing before it at 0"),
    ("car-* and", "'and' with nothing after it at 6"),
    ("car-* or or gw-*", "'or' with nothing before it at 9"),
    ("( and car-* )", "'and' with nothing before it at 2"),
    ("( car-* or )", "'or' with nothing after it at 8"),
    ("not", "'not' with nothing after it at 0"),
    ("car-* or not", "'not' with nothing after it at 9"),
    ("not not car-*", "'not' right after 'not' (Salt reads it as 'not and not') at 4"),
    ("( car-*", "unbalanced parenthesis at 0"),
    ("car-* )", "unbalanced parenthesis at 6"),
    ("G@role:car and ( car-* or ( gw-* )", "unbalanced parenthesis at 15"),
    ("G@role:car and car-* ) or gw-*", "unbalanced parenthesis at 21"),
    ("( )", "empty parentheses at 0"),
    ("car-* gw-*", "missing operator between 'car-*' and 'gw-*' at 6: " + SPACES),
    ("car-* ( gw-* )", "missing operator between 'car-*' and '(' at 6"),
    ("( car-* ) gw-*", "missing operator between ')' and 'gw-*' at 10"),
    ("G@model:*Pi 4*", "missing operator between 'G@model:*Pi' and '4*' at 12: " + SPACES),
    ("(car-* or gw-*)", "parenthesis must be a word of its own (put spaces around it) at 0"),
    ("car-* or gw-*)", "parenthesis must be a word of its own (put spaces around it) at 13"),
    ("a or X@foo", "unknown prefix 'X@' at 5"),
    ("R@%cluster", "unsupported prefix 'R@' (range targeting) at 0"),
    ("T@dummy:dummy-01", "unsupported prefix 'T@' (resource targeting) at 0"),
    ("car-* and G@", "nothing after 'G@' at 10"),
    ("E@(", "invalid regular expression at 2: missing ), unterminated subpattern at position 0"),
    ("car-* or E@car-[", "invalid regular expression at 11: unterminated character set at position 4"),
    ("P@os:(deb", "invalid regular expression at 5: missing ), unterminated subpattern at position 0"
     " (grain patterns are lower-cased, as Salt does)"),
    ("P@os:\\Z", "invalid regular expression at 5: bad escape \\z at position 0"
     " (grain patterns are lower-cased, as Salt does)"),
    ("S@10.1.0.1/16", "invalid CIDR at 2: 10.1.0.1/16 has host bits set"),
    ("car-* and S@10.1.0.0/33", "invalid CIDR at 12: '10.1.0.0/33' does not appear to be an IPv4 or IPv6 network"),
    ("G@role", "grain target 'role' needs 'key:value' at 2"),
    ("G|@role:car", "grain target 'role:car' needs 'key|value' at 3"),
    ("I@role", "pillar target 'role' needs 'key:value' at 2"),
])
def test_compound_errors(tgt: str, message: str) -> None:
    with pytest.raises(TargetSyntaxError) as exc:
        parse(tgt, "compound")
    assert str(exc.value) == message
    assert str(exc.value).startswith(f"{exc.value.reason} at {exc.value.position}")


def test_a_regex_with_one_good_split_point_is_accepted() -> None:
    # '^/usr(' alone is no regex, but the whole value '^/usr(:|$)' is; Salt tries both
    target = parse("path:^/usr(:|$)", "grain_pcre")
    assert target.matches("m", {"path": "/usr:/bin"})


def test_list_targets_count_positions_over_the_words_joined_by_spaces() -> None:
    with pytest.raises(TargetSyntaxError) as exc:
        parse(["car-*", "and", "E@("], "compound")
    assert exc.value.position == len("car-* and E@")


@pytest.mark.parametrize(("tgt", "tgt_type", "message"), [
    ("(", "pcre", "invalid regular expression at 0: missing ), unterminated subpattern at position 0"),
    ("10.1.0.1/16", "ipcidr", "invalid CIDR at 0: 10.1.0.1/16 has host bits set"),
    ("host", "ipcidr", "invalid CIDR at 0: 'host' does not appear to be an IPv4 or IPv6 network"),
    ("role", "grain", "grain target 'role' needs 'key:value' at 0"),
    ("os:(", "grain_pcre", "invalid regular expression at 3: missing ), unterminated subpattern at position 0"
     " (grain patterns are lower-cased, as Salt does)"),
    (["a", "b"], "glob", "a glob target must be a string, not a list at 0"),
    (["a", 1], "list", "a target list must hold strings at 0"),
    (7, "glob", "a target must be a string, not int at 0"),
])
def test_simple_type_errors(tgt: Any, tgt_type: str, message: str) -> None:
    with pytest.raises(TargetSyntaxError) as exc:
        parse(tgt, tgt_type)
    assert str(exc.value) == message


def test_empty_delimiter() -> None:
    with pytest.raises(TargetSyntaxError, match="empty delimiter at 0"):
        parse("role:car", "grain", delimiter="")


def test_deep_nesting_is_refused_before_it_can_exhaust_the_stack() -> None:
    depth = MAX_DEPTH
    assert parse("( " * depth + "a" + " )" * depth, "compound").matches("a", {})
    with pytest.raises(TargetSyntaxError, match=f"parentheses nested deeper than {MAX_DEPTH}"):
        parse("( " * (depth + 1) + "a" + " )" * (depth + 1), "compound")


def test_long_flat_expressions_are_fine() -> None:
    target = parse(" or ".join(f"car-{n:04d}" for n in range(5000)), "compound")
    assert target.matches("car-4999", {})


def test_unknown_target_type() -> None:
    with pytest.raises(UnsupportedTargetTypeError, match="unknown target type 'range'") as exc:
        parse("%cluster", "range")
    assert isinstance(exc.value, TargetingError) and isinstance(exc.value, ValueError)


def test_error_tree() -> None:
    assert issubclass(TargetSyntaxError, TargetingError)
    assert issubclass(TargetSyntaxError, ValueError)
