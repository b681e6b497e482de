"""Properties over random grains and random compound expressions drawn from the grammar.

* The master, once it has a minion's grains, decides as the minion does.
* Without grains the master says "unknown", or says what every set of grains would give.
* ``expected_minions`` over a fleet agrees with ``evaluate`` minion by minion.
* Any text either parses or fails with ``TargetSyntaxError``; a parsed target never raises while matching.
* The IPv4 fast path agrees with ``ipaddress``; words are split exactly as ``str.split`` splits.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_minion.targeting import Target, TargetSyntaxError, expected_minions, parse
from edge_minion.targeting.ipcidr import CidrMatcher
from edge_minion.targeting.words import split_words

KEYS = ["role", "os", "model", "roles", "gpu", "ipv4", "ipv6", "num", "flag", "tags", "a"]
WORDS = ["car", "gateway", "Debian", "Pi 4", "b", "", "x:y", "CAR", "10.1.2.3"]
IDS = ["car-0001", "car-0002", "gw-01", "odd,one", "bare", "Car-9"]

scalars = st.one_of(st.sampled_from(WORDS), st.integers(-3, 300), st.booleans(), st.none(),
                    st.text(alphabet="abcAB:.*-1", max_size=5))
addresses = st.one_of(
    st.ip_addresses(v=4).map(str), st.ip_addresses(v=6).map(str),
    st.sampled_from(["10.1.2.3", "10.1.200.7", "10.2.0.1", "127.0.0.1", "garbage", "10.1.02.3", "10.1.2"]),
    st.integers(0, 2**32 - 1))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(KEYS + ["0", "1", "vendor"]), inner, max_size=3)),
    max_leaves=8)
grains_strategy = st.fixed_dictionaries({}, optional={
    **{key: values for key in KEYS if key not in ("ipv4", "ipv6")},
    "ipv4": st.one_of(st.lists(addresses, max_size=3), addresses),
    "ipv6": st.lists(addresses, max_size=2),
})

ipv4_networks = st.builds(lambda address, length: ipaddress.ip_network(f"{address}/{length}", strict=False),
                          st.ip_addresses(v=4), st.integers(0, 32))
ipv6_networks = st.builds(lambda address, length: ipaddress.ip_network(f"{address}/{length}", strict=False),
                          st.ip_addresses(v=6), st.integers(0, 128))

GLOBS = ["car-*", "*", "gw-0?", "car-000[12]", "bare", "odd,one", "[!c]*", "*-9"]
GRAIN_EXPRS = ["role:car", "role:c*", "roles:car", "gpu:vendor:b*", "gpu:*", "a:b:*", "tags:0:x:y", "*:car",
               "*:*:b", "num:1*", "flag:true", "model:*pi?4*", "os:", "x:y:*", "a:*:b"]
REGEX_EXPRS = ["role:c.r", "os:deb", "roles:^g", "gpu:vendor:.*", "num:\\d+$", "a:b:[ab]"]
atoms = st.one_of(
    st.sampled_from(GLOBS),
    st.sampled_from(GRAIN_EXPRS).map(lambda e: f"G@{e}"),
    st.sampled_from(REGEX_EXPRS).map(lambda e: f"P@{e}"),
    st.sampled_from(GRAIN_EXPRS).map(lambda e: f"I@{e}"),
    st.lists(st.sampled_from(IDS), min_size=1, max_size=3).map(lambda ids: "L@" + ",".join(ids)),
    st.sampled_from(["car-0+1", "gw", ".*9$", "odd,"]).map(lambda e: f"E@{e}"),
    st.builds(lambda net: f"S@{net}", ipv4_networks | ipv6_networks),
    st.sampled_from(["G|@gpu|vendor|b*", "P,@roles,^c"]),
)


def _compound(draw_tree: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(draw_tree, st.sampled_from(["and", "or", "not"]), draw_tree).map(
        lambda t: f"{t[0]} {t[1]} {t[2]}" if not (t[1] == "not" and t[2].startswith("not")) else f"{t[0]} and {t[2]}")
    negated = draw_tree.map(lambda e: f"not ( {e} )" if e.startswith("not") else f"not {e}")
    grouped = draw_tree.map(lambda e: f"( {e} )")
    return st.one_of(binary, negated, grouped)


expressions = st.recursive(atoms, _compound, max_leaves=7)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(expr=expressions, minion_id=st.sampled_from(IDS), grains=grains_strategy)
def test_master_with_grains_decides_as_the_minion(expr: str, minion_id: str, grains: dict[str, Any]) -> None:
    target = parse(expr, "compound")
    assert target.evaluate(minion_id, grains) is target.matches(minion_id, grains)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(expr=expressions, minion_id=st.sampled_from(IDS), grains=grains_strategy)
def test_master_without_grains_is_unknown_or_right_for_any_grains(expr: str, minion_id: str,
                                                                  grains: dict[str, Any]) -> None:
    target = parse(expr, "compound")
    blind = target.evaluate(minion_id, None)
    if blind is not None:
        assert blind is target.matches(minion_id, grains)
        assert blind is target.matches(minion_id, {})
    if not target.needs_grains:
        assert blind is not None


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(expr=expressions,
       fleet=st.dictionaries(st.sampled_from(IDS) | st.text(alphabet="abc-,0", min_size=1, max_size=4),
                             st.none() | grains_strategy, max_size=6))
def test_expected_minions_agrees_with_evaluate(expr: str, fleet: dict[str, dict[str, Any] | None]) -> None:
    target = parse(expr, "compound")
    result = expected_minions(target, fleet)
    assert result.matched == {mid for mid, grains in fleet.items() if target.evaluate(mid, grains) is True}
    assert result.unknown == {mid for mid, grains in fleet.items() if target.evaluate(mid, grains) is None}


@settings(max_examples=500)
@given(text=st.text(alphabet=st.sampled_from(list("GPILSENJX@:|()*?[]!,. 0123456789abcnotdr\\/-")) | st.characters(),
                    max_size=40),
       tgt_type=st.sampled_from(["compound", "glob", "pcre", "list", "grain", "grain_pcre", "ipcidr", "pillar"]),
       grains=grains_strategy)
def test_any_text_parses_or_fails_cleanly(text: str, tgt_type: str, grains: dict[str, Any]) -> None:
    try:
        target = parse(text, tgt_type, nodegroups={"g": "car-* or bare"})
    except TargetSyntaxError as exc:
        assert 0 <= exc.position <= len(text)
        return
    assert isinstance(target, Target)
    assert target.matches("car-0001", grains) in (True, False)
    assert target.evaluate("car-0001", None) in (True, False, None)


@settings(max_examples=500)
@given(network=ipv4_networks, items=st.lists(addresses, max_size=4))
def test_ipv4_fast_path_agrees_with_ipaddress(network: ipaddress.IPv4Network, items: list[Any]) -> None:
    def slow(item: Any) -> bool:
        try:
            return ipaddress.ip_address(item) in network
        except ValueError:
            return False
    matcher = CidrMatcher(str(network))
    expected = any(slow(item) for item in items)
    assert matcher({"ipv4": items}) is expected
    fleet: dict[str, dict[str, Any] | None] = {"m": {"ipv4": items}, "n": None}
    assert matcher.split(fleet.items()) == ({"m"} if expected else set(), {"n"})


@given(st.ip_addresses(v=4))
def test_dotted_quads_are_read_as_strictly_as_ipaddress(address: ipaddress.IPv4Address) -> None:
    text = str(address)
    octets = text.split(".")
    padded = ".".join(["0" + octets[0]] + octets[1:])  # a leading zero makes it invalid for both
    net = CidrMatcher("0.0.0.0/0")
    assert net({"ipv4": [text]})
    assert not net({"ipv4": [padded]})


@given(st.text(alphabet=st.sampled_from(list("ab( )\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u2000\u3000")), max_size=30))
def test_words_split_like_str_split(text: str) -> None:
    words = split_words(text)
    assert [word.text for word in words] == text.split()
    assert all(text[word.position:word.position + len(word.text)] == word.text for word in words)


@settings(max_examples=200)
@given(expr=expressions)
def test_the_grouping_shown_reparses_to_the_same_tree(expr: str) -> None:
    shown = parse(expr, "compound").describe()
    spaced = shown.replace("(", "( ").replace(")", " )")
    assert parse(spaced, "compound").describe() == shown


def salt_sentence(words: list[str], truth: dict[str, bool]) -> str | None:
    """The Python sentence Salt's compound matcher hands to ``eval`` (None where it gives up before)."""
    results: list[str] = []
    for word in words:
        if word in ("and", "or", "not", "(", ")"):
            if results:
                if results[-1] == "(" and word in ("and", "or"):
                    return None
                if word == "not" and results[-1] not in ("and", "or", "("):
                    results.append("and")
            elif word not in ("(", "not"):
                return None
            results.append(word)
        else:
            results.append(str(truth[word]))
    return " ".join(results)


@settings(max_examples=1000)
@given(st.lists(st.sampled_from(["a*", "*b", "c*", "and", "or", "not", "(", ")"]), min_size=1, max_size=9))
def test_grammar_equals_python_eval_of_salts_sentence(words: list[str]) -> None:
    sentence = salt_sentence(words, {"a*": True, "*b": True, "c*": False})  # for the minion id 'ab'
    salt: object = "invalid"
    if sentence is not None and "( )" not in sentence:  # '()' is a tuple to eval; we refuse it
        try:
            salt = eval(sentence)  # noqa: S307 - a sentence of True/False/and/or/not/parentheses
        except Exception:  # noqa: BLE001 - SyntaxError, or TypeError for 'True ( False )'
            salt = "invalid"
    elif sentence is not None:
        return
    try:
        ours: object = parse(words, "compound").matches("ab", {})
    except TargetSyntaxError:
        ours = "invalid"
    assert ours == salt, sentence
