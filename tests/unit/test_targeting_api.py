"""Both sides of a publish: the master's three-valued ``evaluate`` and ``expected_minions``, the minion's
``match_publish``, and the package's public surface."""

from __future__ import annotations

from typing import Any

import pytest

import edge_minion.targeting as targeting
from edge_minion.targeting import Expected, expected_minions, match_publish, parse, resolve_nodegroups

CAR: dict[str, Any] = {"role": "car", "model": "Raspberry Pi 4 Model B Rev 1.4", "ipv4": ["10.1.2.3"]}
GATEWAY: dict[str, Any] = {"role": "gateway", "model": "Raspberry Pi 3 Model B Plus Rev 1.3", "ipv4": ["10.2.0.1"]}
FLEET: dict[str, dict[str, Any] | None] = {
    "car-0001": CAR, "car-0002": CAR, "car-0007": CAR, "car-0009": None, "gw-01": GATEWAY, "gw-02": None,
}


@pytest.mark.parametrize(("tgt", "tgt_type", "minion_id", "expected"), [
    ("car-*", "glob", "car-0009", True),  # the id alone decides: known without grains
    ("role:car", "grain", "car-0009", None),
    ("10.1.0.0/16", "ipcidr", "car-0009", None),
    ("G@role:car and car-*", "compound", "car-0009", None),
    ("G@role:car and gw-*", "compound", "car-0009", False),  # False and unknown = False
    ("G@role:car or car-*", "compound", "car-0009", True),  # True or unknown = True
    ("G@role:car or gw-*", "compound", "car-0009", None),  # False or unknown = unknown
    ("not G@role:car", "compound", "car-0009", None),  # not unknown = unknown
    ("not ( G@role:car and gw-* )", "compound", "car-0009", True),
    ("I@site:lyon", "compound", "car-0009", None),  # pillar: nothing cached, nothing known
    ("I@site:lyon", "compound", "car-0001", False),  # cached grains, no pillar: empty pillar
])
def test_evaluate_without_grains_is_three_valued(tgt: str, tgt_type: str, minion_id: str,
                                                  expected: bool | None) -> None:
    grains = FLEET[minion_id]
    assert parse(tgt, tgt_type).evaluate(minion_id, grains) is expected


def test_matches_treats_missing_grains_as_empty() -> None:
    assert parse("G@role:car or car-*", "compound").matches("car-0009", None) is True
    assert parse("not G@role:car", "compound").matches("car-0009", None) is True


@pytest.mark.parametrize(("tgt", "tgt_type", "matched", "unknown"), [
    ("*", "glob", {"car-0001", "car-0002", "car-0007", "car-0009", "gw-01", "gw-02"}, set()),
    ("car-*", "glob", {"car-0001", "car-0002", "car-0007", "car-0009"}, set()),
    ("car-000?", "glob", {"car-0001", "car-0002", "car-0007", "car-0009"}, set()),
    ("gw-01", "glob", {"gw-01"}, set()),
    ("car-0001,gw-02,car-4242", "list", {"car-0001", "gw-02"}, set()),
    ("car-000[12]|gw", "pcre", {"car-0001", "car-0002", "gw-01", "gw-02"}, set()),
    ("car-000[12]", "glob", {"car-0001", "car-0002"}, set()),
    ("role:car", "grain", {"car-0001", "car-0002", "car-0007"}, {"car-0009", "gw-02"}),
    ("10.2.0.0/16", "ipcidr", {"gw-01"}, {"car-0009", "gw-02"}),
    ("G@role:car and not L@car-0007", "compound", {"car-0001", "car-0002"}, {"car-0009", "gw-02"}),
    ("car-* and G@role:car and not L@car-0007", "compound", {"car-0001", "car-0002"}, {"car-0009"}),
    ("G@role:car or gw-*", "compound", {"car-0001", "car-0002", "car-0007", "gw-01", "gw-02"}, {"car-0009"}),
    ("not G@role:car", "compound", {"gw-01"}, {"car-0009", "gw-02"}),
    ("I@site:lyon or car-0001", "compound", {"car-0001"}, {"car-0009", "gw-02"}),
])
def test_expected_minions(tgt: str, tgt_type: str, matched: set[str], unknown: set[str]) -> None:
    result = expected_minions(parse(tgt, tgt_type), FLEET)
    assert result == Expected(matched, unknown)
    for minion_id, grains in FLEET.items():  # the set form agrees with the one-minion form
        verdict = parse(tgt, tgt_type).evaluate(minion_id, grains)
        assert (minion_id in result.matched, minion_id in result.unknown) == (verdict is True, verdict is None)


def test_expected_minions_over_no_minions() -> None:
    assert expected_minions(parse("G@role:car and car-*", "compound"), {}) == Expected()


def test_list_targets_find_ids_holding_commas() -> None:
    fleet: dict[str, dict[str, Any] | None] = {"odd,one": {}, "odd": {}, "one": None}
    assert expected_minions(parse("x,odd,one", "list"), fleet).matched == {"odd,one", "odd", "one"}
    assert expected_minions(parse("odd", "list"), fleet).matched == {"odd"}


def load(**fields: Any) -> dict[str, Any]:
    return {"fun": "test.ping", "arg": [], "jid": "20261123000000000000", **fields}


@pytest.mark.parametrize(("publish", "expected"), [
    (load(tgt="car-*"), True),  # tgt_type defaults to glob
    (load(tgt="car-*", tgt_type="glob"), True),
    (load(tgt="gw-*", tgt_type="glob"), False),
    (load(tgt="role:car", tgt_type="grain"), True),
    (load(tgt="role|car", tgt_type="grain", delimiter="|"), True),
    (load(tgt="role|c.r", tgt_type="grain_pcre", delimiter="|"), True),
    (load(tgt="G@role:car and not E@gw", tgt_type="compound"), True),
    (load(tgt="G@role:car", tgt_type="compound", delimiter="|"), True),  # compound ignores the load's delimiter
    (load(tgt=["car-0001", "car-0002"], tgt_type="list"), True),
    (load(tgt=["G@role:car", "and", "car-*"], tgt_type="compound"), True),
    (load(tgt="10.1.0.0/16", tgt_type="ipcidr"), True),
    (load(tgt="car-0001", tgt_type="range"), False),  # a matcher we do not have: dropped
    (load(tgt="car-0001", tgt_type=None), False),
    (load(tgt_type="glob"), False),  # no tgt
    (load(tgt="( car-*", tgt_type="compound"), False),  # malformed: dropped
    (load(tgt="cars", tgt_type="nodegroup"), False),  # no nodegroups on this minion
    (load(tgt=7, tgt_type="glob"), False),
])
def test_match_publish(publish: dict[str, Any], expected: bool) -> None:
    assert match_publish(publish, "car-0001", CAR) is expected


def test_match_publish_with_nodegroups_and_pillar() -> None:
    nodegroups = {"cars": "G@role:car"}
    assert match_publish(load(tgt="cars", tgt_type="nodegroup"), "car-0001", CAR, nodegroups=nodegroups)
    assert match_publish(load(tgt="N@cars and car-*", tgt_type="compound"), "car-0001", CAR, nodegroups=nodegroups)
    assert match_publish(load(tgt="site:lyon", tgt_type="pillar"), "car-0001", CAR, pillar={"site": "lyon"})


def test_resolve_nodegroups_is_what_salts_client_publishes() -> None:
    nodegroups = {"cars": "G@role:car or car-*", "ids": "a b"}
    assert resolve_nodegroups("cars", "nodegroup", nodegroups) == ("G@role:car or car-*", "compound")
    assert resolve_nodegroups("x and N@ids", "compound", nodegroups) == ("x and L@a,b", "compound")
    assert resolve_nodegroups("role:car", "grain", nodegroups) == ("role:car", "grain")
    tgt, tgt_type = resolve_nodegroups("N@cars and not x", "compound", nodegroups)
    assert match_publish(load(tgt=tgt, tgt_type=tgt_type), "car-0001", CAR)  # the minion needs no nodegroups


def test_exported_members() -> None:
    exported = {name for name in dir(targeting) if not name.startswith("_")} - {
        "annotations", "compound", "errors", "expected", "ipcidr", "nodegroups", "publish", "scalars",
        "subdict", "target", "terms", "tree", "words"}
    assert exported == set(targeting.__all__)


def test_target_repr_and_flags() -> None:
    target = parse("G@role:car and car-*", "compound")
    assert repr(target) == "Target(tgt='G@role:car and car-*', tgt_type='compound')"
    assert target.needs_grains
    assert not parse("car-*").needs_grains
