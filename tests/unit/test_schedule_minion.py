"""Scheduled runs inside the minion: inbox, job runner and outbox, on real SQLite files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge_minion.config import MinionConfig
from edge_minion.minion import Minion
from edge_minion.schedule.due import Due
from edge_minion.schedule.entry import parse_entry
from edge_minion.schedule.runs import run_jid, run_load

WALL = 1_795_000_000.0


def minion(tmp_path: Path, calls: list[tuple[str, list[Any]]]) -> Minion:
    def runner(fun: str, arg: list[Any]) -> tuple[Any, int, bool, str | None]:
        calls.append((fun, arg))
        return {"value": 56, "unit": "kph"}, 0, True, None

    return Minion(MinionConfig(id="car-1", state_dir=tmp_path), runner, lambda: {}, lambda load, grains: True)


def scheduled(seq: int) -> dict[str, Any]:
    entry = parse_entry("log_speed", {"function": "obd.query", "args": ["SPEED"], "seconds": 2})
    return run_load("car-1", run_jid(WALL, seq), seq, Due("log_speed", entry, "interval"), WALL)


def test_a_run_goes_through_inbox_and_outbox_once(tmp_path: Path) -> None:
    calls: list[tuple[str, list[Any]]] = []
    m = minion(tmp_path, calls)
    try:
        load = scheduled(1)
        future = m._submit_scheduled(load)
        assert future is not None
        future.result(10)
        assert m._submit_scheduled(load) is None, "a jid seen before does not run again"
        (entry,) = m.outbox.peek(10)
        ret = entry.load
        assert calls == [("obd.query", ["SPEED"])]
        assert ret["jid"] == load["jid"] and ret["schedule"] == "log_speed"
        assert ret["_stamp"] == load["metadata"]["_schedule"]["time"] and ret["return"]["value"] == 56
    finally:
        m.jobs.shutdown(wait=True)
        m.outbox.close()


def test_a_run_cut_short_by_a_power_cut_is_reported_under_its_jid(tmp_path: Path) -> None:
    m = minion(tmp_path, [])
    load = scheduled(7)
    assert m.inbox.accept(load)
    m.inbox.started(load["jid"])  # the power went while it ran
    m.outbox.close()
    again = minion(tmp_path, [])
    try:
        again.recover()
        (entry,) = again.outbox.peek(10)
        assert entry.load["jid"] == load["jid"] and entry.load["interrupted"] is True
        assert entry.load["schedule"] == "log_speed" and entry.load["_stamp"] == load["metadata"]["_schedule"]["time"]
    finally:
        again.jobs.shutdown(wait=True)
        again.outbox.close()
