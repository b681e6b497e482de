"""Issue 6, the proof: scheduled runs made offline all reach the master, once each, in order.

A real master, a real minion behind the chaos proxy, a schedule entry every
``EDGEFLEET_SCHEDULE_INTERVAL`` seconds (2). The link is cut for
``EDGEFLEET_SCHEDULE_OUTAGE`` seconds (40; 300 with ``EDGEFLEET_SOAK=1``) and
the minion is killed and started again halfway through. After the link comes
back, every run the device started must be in the master's job cache exactly
once, delivered in run order, under its own jid carrying the device's run time.

Expected runs come from the device itself: the run sequence number it persists
(every run ever started is 1..N) and its durable inbox (the jid of each run).
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cloud_master.jid import jid_start_time, jid_to_time
from cloud_master.jobcache import JobCache
from edge_minion.protocol import payload
from edge_minion.schedule import open_book
from tests.fleet_harness import Master, Minion, free_ports, tool
from tools.chaos_proxy import ChaosProxy

SOAK = os.environ.get("EDGEFLEET_SOAK") == "1"
INTERVAL = float(os.environ.get("EDGEFLEET_SCHEDULE_INTERVAL", "2"))
OUTAGE = float(os.environ.get("EDGEFLEET_SCHEDULE_OUTAGE", "300" if SOAK else "40"))
MINION_ID = "car-sched"


def _function() -> tuple[str, list[Any]]:
    """``obd.query SPEED`` on the simulated ECU; ``test.echo`` while the obd module is not in the tree."""
    try:
        spec = importlib.import_module("device_modules.obd").MODULE
    except (ImportError, AttributeError):
        return "test.echo", ["SPEED"]
    return ("obd.query", ["SPEED"]) if "query" in spec.functions else ("test.echo", ["SPEED"])


def _wait(what: str, pred: Any, timeout: float, step: float = 0.2) -> None:
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(step)


def _device_ledger(state_dir: Path) -> tuple[dict[str, dict[str, Any]], int, int]:
    """The device's own record: {jid: run metadata} of every scheduled run its inbox accepted,
    the run sequence number from the schedule state, and what is still in its outbox."""
    db = sqlite3.connect(f"file:{state_dir / 'cache' / 'outbox.sqlite'}?mode=ro", uri=True)
    try:
        runs = {}
        for jid, body in db.execute("SELECT jid, body FROM inbox"):
            meta = (payload.loads(body).get("metadata") or {}).get("_schedule")
            if meta:
                runs[str(jid)] = meta
        queued = int(db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
    finally:
        db.close()
    seq = int(json.loads((state_dir / "schedule" / "state.json").read_text())["seq"])
    return runs, seq, queued


def _unfinished(state_dir: Path) -> int:
    db = sqlite3.connect(f"file:{state_dir / 'cache' / 'outbox.sqlite'}?mode=ro", uri=True)
    try:
        inbox = db.execute("SELECT COUNT(*) FROM inbox WHERE state != 'done'").fetchone()[0]
        outbox = db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
        return int(inbox) + int(outbox)
    finally:
        db.close()


def _delivered(master: Master) -> dict[str, dict[str, Any]]:
    """{jid: {load, received}} of this minion's scheduled returns in the master's job cache."""
    cache = JobCache(master.state_dir / "cache" / "jobs.sqlite")
    try:
        out = {}
        for jid, entry in cache.list_jobs(search_target=MINION_ID).items():
            load = cache.get_returns(jid).get(MINION_ID)
            if load and (load.get("metadata") or {}).get("_schedule", {}).get("name") == "log_speed":
                assert load.get("schedule") == "log_speed", load
                received = cache.job_status(jid)[MINION_ID]["since"]
                out[jid] = {"load": load, "received": received, "StartTime": entry["StartTime"]}
        out["__duplicates__"] = {"count": cache.duplicate_returns()}
        return out
    finally:
        cache.close()


def _fleet(master: Master, *words: str) -> tuple[dict[str, Any], int]:
    """``fleet --out json WORDS``; options go first, since everything after the function is its arguments."""
    proc = master.fleet("--out", "json", *words)
    try:
        return json.loads(proc.stdout), proc.returncode
    except json.JSONDecodeError as exc:
        raise AssertionError(f"fleet {words} printed no JSON (exit {proc.returncode}):\n{proc.stdout}\n"
                             f"{proc.stderr}") from exc


def _stamp(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.timeout(OUTAGE + 300)
def test_offline_runs_are_delivered_once_in_order(master: Master, capsys: pytest.CaptureFixture[str]) -> None:
    fun, args = _function()
    ret_port, pub_port = free_ports(2)
    proxy = ChaosProxy({ret_port: ("127.0.0.1", master.ret_port),
                        pub_port: ("127.0.0.1", master.publish_port)}).start()
    minion = Minion(MINION_ID, master, master_port=ret_port, config={
        "publish_port": pub_port, "request_timeout": 5, "auth_timeout": 3,
        "schedule": {"log_speed": {"function": fun, "args": args, "seconds": INTERVAL}}})
    try:
        minion.start()
        master.accept(MINION_ID)
        minion.wait_authenticated()
        _wait("results while connected", lambda: len(_delivered(master)) - 1 >= 2, 10 * INTERVAL)

        proxy.cut(OUTAGE + 3600)
        cut_at = time.time()
        time.sleep(OUTAGE / 2)
        minion.stop(signal.SIGKILL)  # a power cut, in the middle of the outage
        down_at = time.time()
        time.sleep(2.5 * INTERVAL)  # down long enough to miss runs: one catch-up run at start, no burst
        minion.start()
        minion.wait_log("minion car-sched starting", count=2)
        up_at = time.time()
        time.sleep(max(0.0, cut_at + OUTAGE - time.time()))
        leaked = [j for j in _delivered(master) if j != "__duplicates__" and jid_to_time(j).replace(
            tzinfo=UTC).timestamp() > cut_at + 1]
        assert leaked == [], "nothing can reach the master while the link is cut"
        proxy.restore()
        restored_at = time.time()

        minion.wait_authenticated(timeout=60, count=2)
        open_book(minion.state_dir).disable()  # what fleet-call schedule.disable does; the minion follows
        time.sleep(INTERVAL + 1)
        _wait("the outbox to drain", lambda: _unfinished(minion.state_dir) == 0, 120)
        minion.stop()
    finally:
        proxy.stop()

    ledger, seq, queued = _device_ledger(minion.state_dir)
    got = _delivered(master)
    redelivered = got.pop("__duplicates__")["count"]
    by_seq = Counter(int(g["load"]["metadata"]["_schedule"]["seq"]) for g in got.values())
    expected_seqs = set(range(1, seq + 1))
    lost = sorted(expected_seqs - set(by_seq))
    duplicated = sorted(s for s, n in by_seq.items() if n > 1)
    order = [int(g["load"]["metadata"]["_schedule"]["seq"]) for g in sorted(got.values(),
                                                                              key=lambda g: g["received"])]
    run_times = {int(g["load"]["metadata"]["_schedule"]["seq"]): _stamp(g["load"]["_stamp"]) for g in got.values()}
    offline = [s for s, t in run_times.items() if cut_at < t < restored_at]
    by_clock = (restored_at - cut_at - (up_at - down_at)) / INTERVAL
    waited = max(g["received"] - _stamp(g["load"]["_stamp"]) for g in got.values())
    interrupted = sum(1 for g in got.values() if g["load"].get("interrupted"))
    failed = [g["load"]["return"] for g in got.values() if not g["load"].get("success")
              and not g["load"].get("interrupted")]
    with capsys.disabled():
        print(f"\nschedule offline proof: {fun} {' '.join(map(str, args))} every {INTERVAL:g} s, link cut for "
              f"{OUTAGE:g} s, minion killed and restarted after {OUTAGE / 2:g} s (down {up_at - down_at:.1f} s)\n"
              f"  expected   {seq} (runs the device started, seq 1..{seq}; in its inbox: {len(ledger)})\n"
              f"  delivered  {len(got)} (run during the outage: {len(offline)}, about {by_clock:.0f} by the clock;"
              f" interrupted by the kill: {interrupted})\n"
              f"  lost       {len(lost)}\n"
              f"  duplicated {len(duplicated)} (resent and ignored by the master: {redelivered})\n"
              f"  in order   {'yes' if order == sorted(order) else 'NO'}; longest wait for delivery {waited:.0f} s")

    assert queued == 0
    assert set(ledger) == set(got), "the master holds exactly the runs the device recorded"
    assert sorted(int(m["seq"]) for m in ledger.values()) == sorted(expected_seqs), "no run number was skipped"
    assert lost == [] and duplicated == []
    assert order == sorted(order), "delivered in the order they ran"
    assert failed == [], failed[:3]
    assert by_clock - 3 <= len(offline) <= by_clock + 2, "kept its cadence offline, without a burst"
    assert waited >= OUTAGE / 2, "results made offline keep their original run time"
    reasons = Counter(m["reason"] for m in ledger.values())
    assert reasons["catch-up"] == 1 and set(reasons) == {"interval", "catch-up"}, reasons
    for jid, g in got.items():
        meta = g["load"]["metadata"]["_schedule"]
        assert jid.endswith(f"_{meta['seq']}") and g["load"]["_stamp"] == meta["time"]
        assert g["StartTime"] == jid_start_time(jid)  # list_jobs shows the device's run time
        assert abs(jid_to_time(jid).replace(tzinfo=UTC).timestamp() - _stamp(g["load"]["_stamp"])) < 1e-3


def test_schedule_managed_from_fleet_and_seen_in_fleet_run(master: Master, make_minion: Any) -> None:
    """``fleet ... schedule.*`` reaches the live scheduler; results show in ``fleet-run``;
    ``fleet-call`` on the device changes the schedule of the running minion too."""
    minion = make_minion("car-mgmt")
    master.wait_connected(1)
    data, code = _fleet(master, "car-mgmt", "schedule.add", "ping", "function=test.echo", "job_args=[hello]",
                        "hours=1")
    assert code == 0, data
    assert data["car-mgmt"]["comment"] == "Added job: ping to schedule."
    data, code = _fleet(master, "car-mgmt", "schedule.run_job", "ping")
    assert code == 0, data
    jid = data["car-mgmt"]["jid"]
    _wait("the run's return", lambda: master.cli("fleet-run", "jobs.lookup_jid", jid, "--out", "json").returncode == 0,
          20)
    assert json.loads(master.cli("fleet-run", "jobs.lookup_jid", jid, "--out", "json").stdout) == {"car-mgmt": "hello"}
    listed = json.loads(master.cli("fleet-run", "jobs.list_jobs", "search_function=test.echo", "--out", "json").stdout)
    assert listed[jid]["StartTime"] == jid_start_time(jid) and listed[jid]["Target"] == "car-mgmt"
    data, _ = _fleet(master, "car-mgmt", "schedule.list")
    assert data["car-mgmt"]["entries"]["ping"]["status"]["runs"] == 1
    for words in (["schedule.disable_job", "ping"], ["schedule.enable_job", "ping"], ["schedule.disable"],
                  ["schedule.enable"], ["schedule.modify", "ping", "minutes=30"], ["schedule.delete", "ping"]):
        data, code = _fleet(master, "car-mgmt", *words)
        assert code == 0 and data["car-mgmt"]["result"] is True, (words, data)
    data, code = _fleet(master, "car-mgmt", "schedule.add", "bad", "function=test.echo", "seconds=0")
    assert code == 1 and "at least 1 s" in data["car-mgmt"]

    local = subprocess.run([tool("fleet-call"), "-c", str(minion.config_path), "--state-dir", str(minion.state_dir),
                            "--id", "car-mgmt", "schedule.add", "local", "function=test.ping", "minutes=5"],
                           capture_output=True, text=True, timeout=60)
    assert local.returncode == 0, local.stdout + local.stderr

    def listed() -> bool:
        return "local" in _fleet(master, "car-mgmt", "schedule.list")[0]["car-mgmt"]["entries"]

    _wait("the running minion to pick up the fleet-call change", listed, 10, step=0.5)
