"""``Grains``: layering, persistence across instances, Salt's write verbs, on_change, a corrupt file."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from device_modules.context import GrainStore
from edge_minion.grains import Grains
from edge_minion.grains.errors import GrainsFileError, GrainTypeError
from tests.unit.test_grains_trees import RASPBIAN_11, Tree, pi4b, x86_laptop


class Changes:
    """An on_change listener that keeps what it was told."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, items: dict[str, Any]) -> None:
        self.calls.append(items)


@pytest.fixture
def laptop(tmp_path: Path) -> Tree:
    return x86_laptop(tmp_path)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


def make(tree: Tree, state: Path, static: dict[str, Any] | None = None, **kwargs: Any) -> Grains:
    return Grains("minion-1", static or {}, state, root=tree.root, **kwargs)


def test_it_is_a_grain_store(laptop: Tree, state: Path) -> None:
    store: GrainStore = make(laptop, state)
    assert store.items()["os"] == "Ubuntu"


def test_persisted_beats_configured_beats_collected(laptop: Tree, state: Path) -> None:
    store = make(laptop, state, {"os": "configured", "roles": ["obd"], "site": "depot-3"})
    store.setval("site", "depot-9")
    items = store.items()
    assert (items["os"], items["roles"], items["site"]) == ("configured", ["obd"], "depot-9")
    assert items["cpu_model"].startswith("11th Gen Intel")


def test_id_is_always_the_minion_id(laptop: Tree, state: Path) -> None:
    store = make(laptop, state, {"id": "configured"})
    store.setval("id", "persisted")
    assert store.items()["id"] == "minion-1"


def test_setval_survives_a_new_instance(laptop: Tree, state: Path) -> None:
    make(laptop, state).setval("roles", ["gateway", "obd"])
    assert make(laptop, state).items()["roles"] == ["gateway", "obd"]
    assert yaml.safe_load((state / "grains.yaml").read_text()) == {"roles": ["gateway", "obd"]}


def test_setval_stores_what_the_file_will_give_back(laptop: Tree, state: Path) -> None:
    store = make(laptop, state)
    store.setval("pair", (1, 2))
    assert store.items()["pair"] == [1, 2]


def test_a_value_yaml_cannot_hold_is_refused_and_nothing_is_written(laptop: Tree, state: Path) -> None:
    store = make(laptop, state)
    with pytest.raises(GrainTypeError, match="YAML"):
        store.setval("bad", object())
    with pytest.raises(TypeError):
        store.setval("", 1)
    assert not (state / "grains.yaml").exists()
    assert "bad" not in store.items()


def test_delval_sets_none_as_salt_does(laptop: Tree, state: Path) -> None:
    store = make(laptop, state)
    store.delval("os")
    assert store.items()["os"] is None
    assert make(laptop, state).items()["os"] is None


def test_delkey_drops_the_persisted_value_and_the_lower_one_shows_again(laptop: Tree, state: Path) -> None:
    store = make(laptop, state, {"site": "depot-3"})
    store.setval("os", "override")
    store.setval("site", "elsewhere")
    store.delkey("os")
    store.delval("site", destructive=True)
    items = store.items()
    assert (items["os"], items["site"]) == ("Ubuntu", "depot-3")
    assert yaml.safe_load((state / "grains.yaml").read_text()) == {}


def test_append_builds_on_the_merged_value(laptop: Tree, state: Path) -> None:
    store = make(laptop, state, {"roles": ["obd"]})
    store.append("roles", "can")
    store.append("new", 1)
    assert (store.items()["roles"], store.items()["new"]) == (["obd", "can"], [1])
    assert make(laptop, state).items()["roles"] == ["obd", "can"]


def test_append_does_not_repeat_a_value(laptop: Tree, state: Path) -> None:
    changes = Changes()
    store = make(laptop, state, {"roles": ["obd"]}, on_change=changes)
    store.items()
    store.append("roles", "obd")
    assert store.items()["roles"] == ["obd"] and changes.calls == []


def test_append_to_a_non_list_needs_convert(laptop: Tree, state: Path) -> None:
    store = make(laptop, state)
    with pytest.raises(GrainTypeError, match="not a list"):
        store.append("os", "extra")
    store.append("os", "extra", convert=True)
    assert store.items()["os"] == ["Ubuntu", "extra"]


def test_items_hands_out_a_copy(laptop: Tree, state: Path) -> None:
    store = make(laptop, state, {"roles": ["obd"]})
    items = store.items()
    items["roles"].append("mutated")
    items["os"] = "mutated"
    assert (store.items()["roles"], store.items()["os"]) == (["obd"], "Ubuntu")


# ---- on_change ---------------------------------------------------------------------------------


def test_each_write_that_changes_something_tells_the_listener(laptop: Tree, state: Path) -> None:
    changes = Changes()
    store = make(laptop, state, on_change=changes)
    store.setval("site", "depot-3")
    store.setval("site", "depot-3")  # same value: no news
    store.append("roles", "obd")
    store.delval("site")
    assert [(c["site"], c.get("roles")) for c in changes.calls] == [
        ("depot-3", None), ("depot-3", ["obd"]), (None, ["obd"])]


def test_refresh_tells_the_listener_only_when_grains_differ(laptop: Tree, state: Path) -> None:
    changes = Changes()
    store = make(laptop, state, on_change=changes)
    assert store.refresh()["os"] == "Ubuntu"
    assert store.refresh()["os"] == "Ubuntu"
    assert changes.calls == []
    laptop.write("/etc/os-release", RASPBIAN_11)  # an upgrade lands
    assert store.refresh()["os"] == "Raspbian"
    assert [c["os"] for c in changes.calls] == ["Raspbian"]


def test_refresh_picks_up_a_hand_edited_file(laptop: Tree, state: Path) -> None:
    store = make(laptop, state)
    store.setval("site", "depot-3")
    (state / "grains.yaml").write_text("site: depot-7\n")
    assert store.refresh()["site"] == "depot-7"


def test_a_failing_listener_is_logged_and_the_value_is_kept(laptop: Tree, state: Path,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    def explode(items: dict[str, Any]) -> None:
        raise RuntimeError("listener broke")

    store = make(laptop, state, on_change=explode)
    with caplog.at_level(logging.ERROR, logger="edge_minion.grains.store"):
        store.setval("site", "depot-3")
    assert "on_change" in caplog.text
    assert make(laptop, state).items()["site"] == "depot-3"


# ---- the file ----------------------------------------------------------------------------------


@pytest.mark.parametrize("content", ["roles: [obd\n", "- just\n- a list\n", "\tsite: x\n"])
def test_a_corrupt_file_is_logged_and_the_other_grains_stay(laptop: Tree, state: Path, content: str,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    state.mkdir()
    (state / "grains.yaml").write_text(content)
    with caplog.at_level(logging.ERROR, logger="edge_minion.grains.store"):
        store = make(laptop, state, {"site": "depot-3"})
    assert str(state / "grains.yaml") in caplog.text and "ignored" in caplog.text
    items = store.items()
    assert (items["os"], items["site"], items["id"]) == ("Ubuntu", "depot-3", "minion-1")


def test_writing_over_a_corrupt_file_keeps_it_aside(laptop: Tree, state: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    state.mkdir()
    (state / "grains.yaml").write_text("roles: [obd\n")
    store = make(laptop, state)
    with caplog.at_level(logging.WARNING, logger="edge_minion.grains.store"):
        store.setval("site", "depot-3")
    assert (state / "grains.yaml.corrupt").read_text() == "roles: [obd\n"
    assert yaml.safe_load((state / "grains.yaml").read_text()) == {"site": "depot-3"}
    assert "grains.yaml.corrupt" in caplog.text


def test_a_failed_write_changes_nothing_and_leaves_no_temp_file(laptop: Tree, state: Path) -> None:
    store = make(laptop, state)
    store.setval("site", "depot-3")
    (state / "grains.yaml").unlink()
    (state / "grains.yaml").mkdir()  # os.replace onto a directory fails, even for root
    with pytest.raises(GrainsFileError) as caught:
        store.setval("site", "depot-9")
    assert isinstance(caught.value, OSError) and caught.value.__cause__ is not None
    assert store.items()["site"] == "depot-3"
    assert sorted(p.name for p in state.iterdir()) == ["grains.yaml"]


def test_the_state_dir_is_created_on_first_write(laptop: Tree, tmp_path: Path) -> None:
    state = tmp_path / "deep" / "state"
    make(laptop, state).setval("site", "depot-3")
    assert sorted(p.name for p in state.iterdir()) == ["grains.yaml"]


def test_concurrent_appends_all_land(laptop: Tree, state: Path) -> None:
    store = make(laptop, state)
    def worker(n: int) -> None:
        for i in range(10):
            store.append("seen", f"{n}-{i}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(make(laptop, state).items()["seen"]) == 80


# ---- hardware ----------------------------------------------------------------------------------

REPORT = {"gpio": {"available": True, "reason": "", "backend": "fake"},
          "obd": {"available": False, "reason": "python-can not installed", "backend": ""}}


def test_off_a_pi_auto_hardware_is_sim_and_says_why(laptop: Tree, state: Path) -> None:
    items = make(laptop, state, hardware_report=lambda: REPORT).items()
    assert items["hardware"] == "sim"
    assert "not a Raspberry Pi" in items["hardware_reason"]
    assert items["edgefleet_modules"] == REPORT


def test_on_a_pi_auto_hardware_is_real(tmp_path: Path, state: Path) -> None:
    items = make(pi4b(tmp_path), state, hardware_report=lambda: REPORT).items()
    assert (items["hardware"], items["is_raspberry_pi"]) == ("real", True)


@pytest.mark.parametrize("mode, hardware", [("sim", "sim"), ("fake", "sim"), ("real", "real")])
def test_a_configured_mode_wins(laptop: Tree, state: Path, mode: str, hardware: str) -> None:
    items = make(laptop, state, hardware_report=lambda: {}, hardware=mode).items()
    assert items["hardware"] == hardware and "configured" in items["hardware_reason"]


def test_without_a_report_there_are_no_hardware_grains(laptop: Tree, state: Path) -> None:
    assert not {"hardware", "hardware_reason", "edgefleet_modules"} & set(make(laptop, state).items())


def test_the_report_is_read_again_on_refresh(laptop: Tree, state: Path) -> None:
    report: dict[str, Any] = {}
    changes = Changes()
    store = make(laptop, state, hardware_report=lambda: report, on_change=changes)
    assert store.items()["edgefleet_modules"] == {}
    report.update(REPORT)  # the registry has finished probing
    store.refresh()
    assert [c["edgefleet_modules"] for c in changes.calls] == [REPORT]


def test_a_failing_report_costs_only_the_module_grains(laptop: Tree, state: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> dict[str, Any]:
        raise RuntimeError("registry not ready")

    with caplog.at_level(logging.WARNING, logger="edge_minion.grains.store"):
        items = make(laptop, state, hardware_report=broken).items()
    assert (items["edgefleet_modules"], items["hardware"], items["os"]) == ({}, "sim", "Ubuntu")
    assert "registry not ready" in caplog.text
