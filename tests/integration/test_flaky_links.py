"""Issue 4, surviving flaky links: one fault at a time, real master and minion processes.

Each minion that needs link faults reaches the master through its own
``ChaosProxy`` (request and publish ports). Heartbeats run every
``HEARTBEAT`` seconds, so a half-open link must be noticed within
``2 * HEARTBEAT``. Side effects are lines appended to a file on the device, so
"ran once" is checked where the job ran, not only in the returns.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cloud_master.control import ControlClient
from cloud_master.jobcache import JobCache
from edge_minion.jobs import INTERRUPTED
from tests.fleet_harness import Master, Minion, free_ports
from tools.chaos_proxy import ChaosProxy

HEARTBEAT = 2.0
PRESENCE_TIMEOUT = 2.5 * HEARTBEAT
MINION_CONFIG = {"heartbeat_interval": HEARTBEAT, "request_timeout": 5, "auth_timeout": 3}


@pytest.fixture
def master() -> Iterator[Master]:
    m = Master(config={"presence_timeout": PRESENCE_TIMEOUT})
    m.start()
    yield m
    m.cleanup()


@pytest.fixture
def fleet(master: Master) -> Iterator[Callable[..., tuple[Minion, ChaosProxy | None]]]:
    """Start and accept a minion, optionally behind a chaos proxy of its own."""
    made: list[tuple[Minion, ChaosProxy | None]] = []

    def make(minion_id: str, proxied: bool = True, **settings: Any) -> tuple[Minion, ChaosProxy | None]:
        proxy = None
        kw: dict[str, Any] = {}
        config: dict[str, Any] = {**MINION_CONFIG, **settings}
        if proxied:
            ret_port, pub_port = free_ports(2)
            proxy = ChaosProxy({ret_port: ("127.0.0.1", master.ret_port),
                                pub_port: ("127.0.0.1", master.publish_port)}).start()
            kw["master_port"] = ret_port
            config["publish_port"] = pub_port
        minion = Minion(minion_id, master, config=config, **kw)
        made.append((minion, proxy))
        minion.start()
        master.accept(minion_id)
        minion.wait_log("minion ready")
        return minion, proxy

    yield make
    for minion, proxy in made:
        minion.cleanup()
        if proxy is not None:
            proxy.stop()


def _publish(master: Master, minion_id: str, fun: str, arg: list[Any], ttl: float | None = None
             ) -> dict[str, Any]:
    client = ControlClient(master.state_dir / "sock")
    try:
        return client.call({"cmd": "publish", "tgt": [minion_id], "tgt_type": "list", "fun": fun, "arg": arg,
                            "ttl": ttl, "subscribe": False})
    finally:
        client.close()


def _run_json(master: Master, *words: str) -> dict[str, Any]:
    proc = master.cli("fleet-run", *words, "--out", "json", check=True)
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def _state(master: Master, jid: str, minion_id: str) -> str | None:
    entry = _run_json(master, "jobs.status", jid).get(minion_id)
    return None if entry is None else str(entry["state"])


def _wait(what: str, pred: Callable[[], object], timeout: float, step: float = 0.2) -> None:
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(step)


def _outbox_rows(minion: Minion) -> int:
    db = sqlite3.connect(f"file:{minion.state_dir / 'cache' / 'outbox.sqlite'}?mode=ro", uri=True)
    try:
        return int(db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
    finally:
        db.close()


def _duplicates(master: Master, jid: str) -> int:
    cache = JobCache(master.state_dir / "cache" / "jobs.sqlite")
    try:
        return cache.duplicate_returns(jid)
    finally:
        cache.close()


def _lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def test_blackholed_link_is_detected_within_two_heartbeats(master: Master, fleet: Any) -> None:
    minion, proxy = fleet("car-bh")
    master.wait_connected(1)
    time.sleep(HEARTBEAT)  # at least one heartbeat went through the healthy link
    lost = minion.log_text().count("link to master")
    proxy.blackhole()
    started = time.monotonic()
    minion.wait_log("link to master", timeout=6 * HEARTBEAT, count=lost + 1)
    detected = time.monotonic() - started
    assert detected <= 2 * HEARTBEAT + 0.5, f"half-open link noticed after {detected:.1f}s"

    time.sleep(2 * HEARTBEAT)  # reconnect attempts into the black hole fail too
    assert minion.log_text().count("minion ready") == 1
    proxy.restore()
    minion.wait_log("minion ready", timeout=30, count=2)
    data, proc = master.fleet_json("car-bh", "test.ping")
    assert data == {"car-bh": True}, proc.stderr


def test_return_made_while_cut_is_delivered_once_after_restore(master: Master, fleet: Any) -> None:
    minion, proxy = fleet("car-cut")
    jid = _publish(master, "car-cut", "test.sleep", [2])["jid"]
    minion.wait_log(f"running job {jid}")
    proxy.cut(3600)
    _wait("the return to be queued on the device", lambda: _outbox_rows(minion) == 1, 20)
    time.sleep(2 * HEARTBEAT)  # the minion tries to send it and cannot
    assert _run_json(master, "jobs.lookup_jid", jid) == {}, "nothing can pass a cut link"
    assert _outbox_rows(minion) == 1

    proxy.restore()
    _wait("the return to reach the job cache", lambda: _run_json(master, "jobs.lookup_jid", jid), 30)
    _wait("the outbox to drain", lambda: _outbox_rows(minion) == 0, 10)
    assert _run_json(master, "jobs.lookup_jid", jid) == {"car-cut": True}
    assert _state(master, jid, "car-cut") == "returned"
    assert _duplicates(master, jid) == 0, "sent once, not resent"
    assert minion.log_text().count(f"running job {jid}") == 1


def test_offline_minion_gets_held_jobs_and_expired_ones_never_run(master: Master, fleet: Any) -> None:
    minion, _ = fleet("car-off", proxied=False)
    ledger = minion.state_dir / "ledger"
    master.wait_connected(1)
    minion.stop()

    def offline() -> bool:
        client = ControlClient(master.state_dir / "sock")
        try:
            return "car-off" in client.call({"cmd": "presence"}).get("down", [])
        finally:
            client.close()

    _wait("the master to count the minion offline", offline, 3 * PRESENCE_TIMEOUT)
    kept = _publish(master, "car-off", "cmd.run", [f"echo kept >> {ledger}"], ttl=300)
    lapsed = _publish(master, "car-off", "cmd.run", [f"echo lapsed >> {ledger}"], ttl=1)
    assert kept["offline"] == ["car-off"] and kept["minions"] == []
    assert _state(master, kept["jid"], "car-off") == "pending-offline"
    assert _state(master, lapsed["jid"], "car-off") in ("pending-offline", "expired")
    _wait("the short job to expire", lambda: _state(master, lapsed["jid"], "car-off") == "expired", 15)

    minion.start()
    _wait("the held job's return", lambda: _state(master, kept["jid"], "car-off") == "returned", 30)
    assert _lines(ledger) == ["kept"]
    time.sleep(1)
    assert _lines(ledger) == ["kept"], "the expired job never runs"
    assert lapsed["jid"] not in minion.log_text()
    assert _state(master, lapsed["jid"], "car-off") == "expired"
    assert _run_json(master, "jobs.lookup_jid", lapsed["jid"]) == {}


def test_minion_killed_mid_job_reports_it_interrupted_and_does_not_rerun(master: Master, fleet: Any) -> None:
    minion, _ = fleet("car-kill", proxied=False)
    jid = _publish(master, "car-kill", "cmd.run", ["sleep 30"])["jid"]  # cmd.run is not idempotent
    minion.wait_log(f"running job {jid}")
    time.sleep(0.5)
    minion.stop(signal.SIGKILL)
    minion.start()
    _wait("the interrupted return", lambda: _state(master, jid, "car-kill") == "interrupted", 30)
    assert _run_json(master, "jobs.lookup_jid", jid) == {"car-kill": INTERRUPTED}
    minion.wait_log("minion ready", count=2)
    time.sleep(1)
    log = minion.log_text()
    assert f"job {jid} (cmd.run) was interrupted; reporting it" in log
    assert log.count(f"running job {jid}") == 1 and f"resuming job {jid}" not in log
    assert _duplicates(master, jid) == 0


def test_duplicate_delivery_of_a_jid_runs_once(master: Master, fleet: Any) -> None:
    """The job arrives on the publish stream, then again from the master's hold queue after a reconnect."""
    minion, proxy = fleet("car-dup")
    ledger = minion.state_dir / "ledger"
    jid = _publish(master, "car-dup", "cmd.run", [f"echo ran >> {ledger}; sleep {6 * HEARTBEAT:g}"])["jid"]
    minion.wait_log(f"running job {jid}")
    proxy.blackhole()
    minion.wait_log("link to master", timeout=6 * HEARTBEAT)
    proxy.restore()
    minion.wait_log("minion ready", timeout=30, count=2)
    master.wait_log("delivering 1 held job(s) to car-dup")  # the second delivery of the same jid
    _wait("the return", lambda: _state(master, jid, "car-dup") == "returned", 30)
    assert _lines(ledger) == ["ran"]
    assert minion.log_text().count(f"running job {jid}") == 1
    assert _duplicates(master, jid) == 0


def test_job_published_during_a_short_cut_still_arrives(master: Master, fleet: Any) -> None:
    """A cut shorter than a heartbeat: the request socket reconnects unnoticed, but the
    publish stream lost what was sent meanwhile, so the minion must ask for held jobs."""
    minion, proxy = fleet("car-blip")
    master.wait_connected(1)
    time.sleep(0.5)
    proxy.cut(1.0)
    jid = _publish(master, "car-blip", "test.ping", [])["jid"]
    _wait("the job to run", lambda: f"running job {jid}" in minion.log_text(), 6 * HEARTBEAT)
    _wait("its return", lambda: _state(master, jid, "car-blip") == "returned", 10)


def test_a_return_whose_connection_drops_is_resent_at_once_not_after_the_timeout(
        master: Master, fleet: Any) -> None:
    """A REQ socket never resends. When the connection carrying a return is reset, no answer
    can come: the minion must act on the reset, not wait out its request timeout (60 s here,
    as are its heartbeats, so neither can be what notices)."""
    minion, proxy = fleet("car-reset", heartbeat_interval=60, request_timeout=60)
    jid = _publish(master, "car-reset", "test.sleep", [1])["jid"]
    minion.wait_log(f"running job {jid}")
    proxy.blackhole()  # the return goes out and is held in the link, unanswered
    _wait("the return to be queued", lambda: _outbox_rows(minion) >= 1, 10)
    time.sleep(0.5)  # and sent
    proxy.cut(1.0)  # a RST on every connection, as a dropped mobile link or a dead master gives
    proxy.blackhole(False)
    cut_at = time.monotonic()
    _wait("the return", lambda: _state(master, jid, "car-reset") == "returned", 20)
    assert time.monotonic() - cut_at < 20
    assert "dropped with a request in flight" in minion.log_text()
    assert _duplicates(master, jid) == 0


def test_idempotent_job_killed_mid_run_runs_again_after_restart(master: Master, fleet: Any) -> None:
    minion, _ = fleet("car-idem", proxied=False)
    jid = _publish(master, "car-idem", "test.sleep", [3])["jid"]  # test.sleep is declared idempotent
    minion.wait_log(f"running job {jid}")
    minion.stop(signal.SIGKILL)
    minion.start()
    _wait("the re-run's return", lambda: _state(master, jid, "car-idem") == "returned", 60)
    assert _run_json(master, "jobs.lookup_jid", jid) == {"car-idem": True}
    assert f"resuming job {jid} (test.sleep) left running" in minion.log_text()
    assert _duplicates(master, jid) == 0
