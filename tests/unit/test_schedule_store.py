"""The stored schedule and its management (what ``fleet-call schedule.*`` works on), on real files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from edge_minion.schedule import open_book
from edge_minion.schedule.due import EntryState, ScheduleState
from edge_minion.schedule.errors import ConfigEntry, InvalidEntry, StoreError, UnknownEntry
from edge_minion.schedule.store import ScheduleStore, decode_state, encode_state

SPEED = {"function": "obd.query", "args": ["SPEED"], "seconds": 2}
CONFIG = {"battery": {"function": "power.status", "minutes": 1}}


def test_entries_survive_a_new_process(tmp_path: Path) -> None:
    book = open_book(tmp_path, CONFIG)
    assert book.add("log_speed", SPEED) == SPEED
    again = open_book(tmp_path, CONFIG)
    listing = again.listing()
    assert listing["enabled"] is True
    assert listing["entries"]["log_speed"]["source"] == "store"
    assert listing["entries"]["battery"] == {"function": "power.status", "minutes": 1, "enabled": True,
                                             "source": "config"}
    assert not list((tmp_path / "schedule").glob(".*.tmp")), "no temporary files are left behind"


def test_modify_delete_and_switches(tmp_path: Path) -> None:
    book = open_book(tmp_path)
    book.add("log_speed", SPEED)
    old, new = book.modify("log_speed", {"cron": "*/5 * * * *", "splay": 3})
    assert old == SPEED
    assert new == {"function": "obd.query", "args": ["SPEED"], "cron": "*/5 * * * *", "splay": 3}
    _, new = book.modify("log_speed", {}, remove={"splay"})
    assert "splay" not in new
    assert book.disable_job("log_speed")["enabled"] is False
    assert open_book(tmp_path).get("log_speed").enabled is False
    book.enable_job("log_speed")
    book.disable()
    assert open_book(tmp_path).enabled is False
    book.enable()
    assert book.delete("log_speed")["cron"] == "*/5 * * * *"
    assert open_book(tmp_path).entries() == {}


def test_errors(tmp_path: Path) -> None:
    book = open_book(tmp_path, CONFIG)
    book.add("log_speed", SPEED)
    with pytest.raises(InvalidEntry, match="exists already"):
        book.add("log_speed", SPEED)
    with pytest.raises(InvalidEntry, match="function"):
        book.add("bad", {"seconds": 2})
    with pytest.raises(UnknownEntry, match="no schedule entry named 'nope'"):
        book.delete("nope")
    with pytest.raises(KeyError):
        book.enable_job("nope")
    with pytest.raises(InvalidEntry):
        book.modify("log_speed", {"seconds": 0})
    assert book.get("log_speed").interval == 2, "a rejected change leaves the entry as it was"


def test_config_entries_are_changed_in_the_config_file_only(tmp_path: Path) -> None:
    book = open_book(tmp_path, CONFIG)
    with pytest.raises(ConfigEntry, match="minion config"):
        book.modify("battery", {"minutes": 5})
    with pytest.raises(PermissionError):
        book.delete("battery")
    with pytest.raises(ConfigEntry):
        book.add("battery", SPEED)
    book.disable_job("battery")
    assert open_book(tmp_path, CONFIG).get("battery").enabled is False
    book.enable_job("battery")
    assert open_book(tmp_path, CONFIG).get("battery").enabled is True


def test_a_bad_config_entry_is_reported_not_fatal(tmp_path: Path) -> None:
    book = open_book(tmp_path, {**CONFIG, "typo": {"function": "test.ping", "sconds": 5}})
    assert set(book.entries()) == {"battery"}
    assert "unknown key" in book.listing()["problems"]["typo"]


def test_run_requests_are_taken_once(tmp_path: Path) -> None:
    book = open_book(tmp_path)
    book.add("log_speed", SPEED)
    assert book.run_job("log_speed") is None
    book.disable_job("log_speed")
    with pytest.raises(InvalidEntry, match="disabled"):
        book.run_job("log_speed")
    book.run_job("log_speed", force=True)
    assert book.store.take_requests() == [("log_speed", False), ("log_speed", True)]
    assert book.store.take_requests() == []


def test_corrupt_file_is_a_store_error(tmp_path: Path) -> None:
    store = ScheduleStore(tmp_path / "schedule")
    store.directory.mkdir()
    store.entries_path.write_text("{not json")
    book = open_book(tmp_path, CONFIG)  # the minion still starts, with its config entries
    assert set(book.entries()) == {"battery"}
    with pytest.raises(StoreError, match="not valid JSON") as info:
        book.add("log_speed", SPEED)
    assert isinstance(info.value, OSError) and info.value.__cause__ is not None


def test_state_keeps_monotonic_readings_only_within_one_boot() -> None:
    state = ScheduleState({"e": EntryState(planned=True, next_at=5.0, last_due_wall=100.0, last_due_mono=7.0,
                                           runs=3, condition_errors=1)})
    saved = encode_state(state, 42, {"j1": {"jid": "j1"}}, "boot-a")
    same, seq, pending = decode_state(saved, "boot-a")
    assert seq == 42 and pending == {"j1": {"jid": "j1"}}
    assert same.entries["e"] == EntryState(last_due_wall=100.0, last_due_mono=7.0, runs=3, condition_errors=1)
    other, _, _ = decode_state(saved, "boot-b")
    assert other.entries["e"].last_due_mono is None and other.entries["e"].runs == 3
    unknown, _, _ = decode_state(saved, "")
    assert unknown.entries["e"].last_due_mono is None
    with pytest.raises(StoreError):
        decode_state({"entries": {"e": {"runs": "x", "nonsense": 1}}, "seq": "many"}, "boot-a")


def test_concurrent_processes_do_not_lose_each_others_entries(tmp_path: Path) -> None:
    """The minion and fleet-call may edit at the same moment: the file lock serialises them."""
    code = ("import sys; from pathlib import Path; from edge_minion.schedule import open_book\n"
            "book = open_book(Path(sys.argv[1]))\n"
            "for i in range(15):\n"
            "    book.add(f'{sys.argv[2]}{i}', {'function': 'test.ping', 'seconds': 5})\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path), prefix]) for prefix in ("a", "b", "c")]
    assert [p.wait(60) for p in procs] == [0, 0, 0]
    assert len(open_book(tmp_path).entries()) == 45


def test_salt_schedule_wide_enabled_key_in_the_config(tmp_path: Path) -> None:
    book = open_book(tmp_path, {"enabled": False, **CONFIG})
    assert book.enabled is False and set(book.entries()) == {"battery"}
    book.enable()  # a later schedule.enable wins over the config, across restarts
    assert open_book(tmp_path, {"enabled": False, **CONFIG}).enabled is True
