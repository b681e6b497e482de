"""The Salt-compatible core end to end: real master, real minions, real CLIs, loopback only."""

from __future__ import annotations

import json
import signal
import time

from tests.fleet_harness import Master


def test_enroll_then_ping_exits_as_soon_as_all_answered(master: Master, make_minion) -> None:  # type: ignore[no-untyped-def]
    make_minion("car-0001", accept=False)
    make_minion("car-0002", accept=False)
    master.accept("car-0001", "car-0002")
    master.wait_connected(2)
    started = time.monotonic()
    data, proc = master.fleet_json("car-*", "test.ping")
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    assert data == {"car-0001": True, "car-0002": True}
    assert elapsed < 4.0, f"fleet waited {elapsed:.1f}s although everyone answered"


def test_list_target_echo_and_args_like_salt(master: Master, make_minion) -> None:  # type: ignore[no-untyped-def]
    make_minion("a1")
    make_minion("b1")
    master.wait_connected(2)
    data, proc = master.fleet_json("-L", "a1,b1", "test.echo", "hi")
    assert proc.returncode == 0 and data == {"a1": "hi", "b1": "hi"}
    data, _ = master.fleet_json("a1", "test.arg", "1", "two", "x=3", "flag=True")
    assert data["a1"]["args"] == [1, "two"]
    assert data["a1"]["kwargs"]["x"] == 3 and data["a1"]["kwargs"]["flag"] is True


def test_offline_minion_reported_apart_and_not_waited_for(master: Master, make_minion) -> None:  # type: ignore[no-untyped-def]
    make_minion("up-1")
    gone = make_minion("down-1")
    master.wait_connected(2)
    gone.stop()
    # Presence: the stopped minion stops heartbeating; restart the master so it is "not connected".
    master.stop()
    master.start()
    master.wait_connected(1, timeout=30)
    started = time.monotonic()
    data, proc = master.fleet_json("*", "test.ping", "-t", "3")
    assert time.monotonic() - started < 3.0
    assert proc.returncode == 2
    assert data["up-1"] is True
    assert "Not connected" in data["down-1"]


def test_long_job_reported_running_then_returned(master: Master, make_minion) -> None:  # type: ignore[no-untyped-def]
    make_minion("slow-1")
    master.wait_connected(1)
    proc = master.fleet("slow-1", "test.sleep", "4", "-t", "1", "--progress", "--out", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout) == {"slow-1": True}
    assert "still running on slow-1" in proc.stderr


def test_jobs_run_concurrently(master: Master, make_minion) -> None:  # type: ignore[no-untyped-def]
    make_minion("conc-1")
    master.wait_connected(1)
    sleeper = master.cli("fleet", "conc-1", "test.sleep", "8", "--async")
    assert sleeper.returncode == 0
    started = time.monotonic()
    data, proc = master.fleet_json("conc-1", "test.ping")
    assert data == {"conc-1": True}
    assert time.monotonic() - started < 3.0


def test_unknown_function_and_bad_arguments(master: Master, make_minion) -> None:  # type: ignore[no-untyped-def]
    make_minion("err-1")
    master.wait_connected(1)
    data, proc = master.fleet_json("err-1", "nosuch.function")
    assert data == {"err-1": "'nosuch.function' is not available."}
    assert proc.returncode == 1
    data, proc = master.fleet_json("err-1", "test.echo")  # missing argument
    assert "test.echo" in data["err-1"] and proc.returncode == 1
    data, _ = master.fleet_json("err-1", "test.ping")
    assert data == {"err-1": True}, "the minion must keep running after errors"


def test_async_then_job_cache(master: Master, make_minion) -> None:  # type: ignore[no-untyped-def]
    make_minion("jc-1")
    master.wait_connected(1)
    proc = master.fleet("jc-1", "test.echo", "cached", "--async")
    jid = proc.stdout.strip().rsplit(" ", 1)[-1]
    assert len(jid) == 20 and jid.isdigit()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        out = master.cli("fleet-run", "jobs.lookup_jid", jid, "--out", "json")
        if out.returncode == 0 and json.loads(out.stdout or "{}").get("jc-1") == "cached":
            break
        time.sleep(0.2)
    else:
        raise AssertionError(out.stdout + out.stderr)
    listing = json.loads(master.cli("fleet-run", "jobs.list_jobs", "--out", "json").stdout)
    assert listing[jid]["Function"] == "test.echo"


def test_master_restart_minion_reauthenticates(master: Master, make_minion) -> None:  # type: ignore[no-untyped-def]
    mn = make_minion("rs-1")
    master.wait_connected(1)
    master.stop()
    time.sleep(1)
    master.start()
    # The heartbeat (every 5 s here) tells the minion the master's key changed.
    mn.wait_log("re-authenticated with master", timeout=30)
    data, proc = master.fleet_json("rs-1", "test.ping")
    assert data == {"rs-1": True}, proc.stderr


def test_deleted_key_rotates_aes_and_locks_the_device_out(master: Master, make_minion) -> None:  # type: ignore[no-untyped-def]
    keep = make_minion("keep-1")
    drop = make_minion("drop-1")
    master.wait_connected(2)
    # It may have logged "pending acceptance" once already, before the fixture accepted it.
    pending_before = drop.log_text().count("pending acceptance")
    assert master.key("-y", "-d", "drop-1").returncode == 0
    time.sleep(1.5)  # the master notices the drop file within a second
    data, _ = master.fleet_json("*", "test.ping")
    assert data == {"keep-1": True}
    assert keep.running
    # The removed device re-authenticates and is parked as pending, never accepted again by itself.
    drop.wait_log("pending acceptance", timeout=20, count=pending_before + 1)
    listing = json.loads(master.key("-L", "--out", "json").stdout)
    assert "drop-1" in listing["minions_pre"] and "drop-1" not in listing["minions"]


def test_sigterm_stops_master_cleanly(master: Master) -> None:
    assert master.stop(signal.SIGTERM) == 0
    assert "master stopped" in master.log_text()
