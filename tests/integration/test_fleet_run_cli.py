"""fleet-run as a real subprocess reading a real job cache."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from cloud_master.jobcache import JobCache

FLEET_RUN = str(Path(sys.executable).parent / "fleet-run")
JID1, JID2, STRAY = "20240105101112123456", "20240105101113000000", "20240105101114000000"
T0 = 1_700_000_000.0


@pytest.fixture
def state(tmp_path: Path) -> Path:
    state_dir = tmp_path / "state"
    with JobCache(state_dir / "cache" / "jobs.sqlite") as cache:
        cache.add_job(JID1, {"fun": "test.ping"}, ["pi-1", "pi-2", "pi-3"], "pi-*", "glob",
                      "test.ping", [], "root", 3600, now=T0)
        cache.add_job(JID2, {"fun": "cmd.run"}, ["pi-1"], ["pi-1"], "list", "cmd.run",
                      ["uptime"], "ops", 3600, now=T0)
        cache.add_return(JID1, "pi-1", {"return": True, "retcode": 0, "success": True, "ts": 1})
        cache.add_return(JID1, "pi-2", {"return": b"\x00\xff", "retcode": 1, "success": False})
        cache.set_minion_state(JID1, "pi-3", "pending-offline", T0 + 5)
        cache.add_return(STRAY, "pi-7", {"fun": "state.apply", "fun_args": [], "return": {}})
    return state_dir


def fleet_run(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEFLEET_")}
    env["EDGEFLEET_STATE_DIR"] = str(state_dir)
    return subprocess.run([FLEET_RUN, *args], env=env, capture_output=True, text=True, timeout=60)


def as_json(state_dir: Path, *args: str) -> Any:
    result = fleet_run(state_dir, *args, "--out", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_list_jobs_like_salt(state: Path) -> None:
    assert as_json(state, "jobs.list_jobs") == {
        JID1: {"Function": "test.ping", "Arguments": [], "Target": "pi-*", "Target-type": "glob",
               "User": "root", "StartTime": "2024, Jan 05 10:11:12.123456"},
        JID2: {"Function": "cmd.run", "Arguments": ["uptime"], "Target": ["pi-1"], "Target-type": "list",
               "User": "ops", "StartTime": "2024, Jan 05 10:11:13.000000"},
        STRAY: {"Function": "state.apply", "Arguments": [], "Target": "pi-7", "Target-type": "glob",
                "User": "", "StartTime": "2024, Jan 05 10:11:14.000000"},
    }


def test_list_jobs_search_and_limit(state: Path) -> None:
    assert list(as_json(state, "jobs.list_jobs", "search_function=test.*")) == [JID1]
    assert list(as_json(state, "jobs.list_jobs", "search_target=pi-1")) == [JID2]
    assert list(as_json(state, "jobs.list_jobs", "limit=1")) == [STRAY]
    bad = fleet_run(state, "jobs.list_jobs", "limit=many")
    assert bad.returncode == 2 and "limit" in bad.stderr


def test_lookup_jid(state: Path) -> None:
    assert as_json(state, "jobs.lookup_jid", JID1) == {"pi-1": True, "pi-2": "base64:AP8="}  # bytes
    assert as_json(state, "jobs.lookup_jid", f"jid={JID1}", "missing=True") == {
        "pi-1": True, "pi-2": "base64:AP8=", "pi-3": "Minion did not return"}


def test_print_job(state: Path) -> None:
    job = as_json(state, "jobs.print_job", JID1)[JID1]
    assert job["Function"] == "test.ping" and job["Minions"] == ["pi-1", "pi-2", "pi-3"]
    assert job["Result"] == {"pi-1": {"return": True, "retcode": 0, "success": True},
                             "pi-2": {"return": "base64:AP8=", "retcode": 1, "success": False}}


def test_status_shows_each_target(state: Path) -> None:
    status = as_json(state, "jobs.status", JID1)
    assert {m: s["state"] for m, s in status.items()} == {
        "pi-1": "returned", "pi-2": "failed", "pi-3": "pending-offline"}  # pi-2 returned success=False
    assert status["pi-3"]["since"] == "2023-11-14T22:13:25+00:00"


def test_nested_and_yaml_output(state: Path) -> None:
    nested = fleet_run(state, "jobs.lookup_jid", JID1)
    # Salt's nested outputter: the id on its own line, the value indented below it.
    assert nested.returncode == 0 and "pi-1:\n    True" in nested.stdout, nested.stdout
    assert yaml.safe_load(fleet_run(state, "jobs.list_jobs", "--out", "yaml").stdout)[JID2]["User"] == "ops"


def test_unknown_jid_function_and_arguments_are_errors(state: Path) -> None:
    for function in ("jobs.lookup_jid", "jobs.print_job", "jobs.status"):
        result = fleet_run(state, function, "20990101000000000000")
        assert result.returncode == 1 and "no job with jid 20990101000000000000" in result.stderr
    result = fleet_run(state, "jobs.nope")
    assert result.returncode == 1 and "'jobs.nope' is not available" in result.stderr
    result = fleet_run(state, "jobs.lookup_jid")
    assert result.returncode == 2 and "jid" in result.stderr
    result = fleet_run(state, "jobs.list_jobs", "colour=red")
    assert result.returncode == 2 and "colour" in result.stderr


def test_no_job_cache_yet_is_empty_and_creates_nothing(tmp_path: Path) -> None:
    assert as_json(tmp_path / "new", "jobs.list_jobs") == {}
    result = fleet_run(tmp_path / "new", "jobs.lookup_jid", JID1)
    assert result.returncode == 1 and "no job" in result.stderr
    assert not (tmp_path / "new").exists()


def test_reads_while_the_master_holds_a_write_transaction(state: Path) -> None:
    writer = sqlite3.connect(state / "cache" / "jobs.sqlite", isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("DELETE FROM returns")  # uncommitted: the reader must not see it
        result = fleet_run(state, "jobs.lookup_jid", JID1, "--out", "json")
        assert result.returncode == 0, result.stderr
        assert set(json.loads(result.stdout)) == {"pi-1", "pi-2"}
    finally:
        writer.execute("ROLLBACK")
        writer.close()
