"""edgefleet with N real minion processes on this machine."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from typing import Any

from tests.fleet_harness import Master, Minion, tool
from tools.bench.common import cpu_seconds, median, pss_mib, rss_mib, timed, write_minion_key


def _fleet(master: Master, *args: str) -> tuple[float, dict[str, Any]]:
    elapsed, proc = timed([tool("fleet"), "--state-dir", str(master.state_dir), *args, "--out", "json"])
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError:
        data = {}
    return elapsed, data


def _publish_to_last_return(master: Master, jid: str) -> float:
    db = sqlite3.connect(master.state_dir / "cache" / "jobs.sqlite")
    try:
        created = db.execute("SELECT created FROM jobs WHERE jid = ?", (jid,)).fetchone()
        last = db.execute("SELECT MAX(received) FROM returns WHERE jid = ?", (jid,)).fetchone()
    finally:
        db.close()
    if not created or not last or last[0] is None:
        return float("nan")
    return float(last[0] - created[0])


def _latest_jid(master: Master) -> str:
    db = sqlite3.connect(master.state_dir / "cache" / "jobs.sqlite")
    try:
        row = db.execute("SELECT jid FROM jobs WHERE fun = 'test.ping' ORDER BY created DESC LIMIT 1").fetchone()
    finally:
        db.close()
    return str(row[0]) if row else ""


def _ping_until_all(master: Master, n: int, since: float, limit: float) -> tuple[float, int]:
    """Ping '*' until all ``n`` answer; (seconds since ``since``, most answered in one round)."""
    best = 0
    while time.monotonic() - since < limit:
        _, data = _fleet(master, "*", "test.ping", "-t", "3", "--gather-job-timeout", "2")
        answered = sum(1 for v in data.values() if v is True)
        best = max(best, answered)
        if answered == n:
            return time.monotonic() - since, n
    return float("nan"), best


def run(n: int, repeat: int = 5, log: Any = print, storm_limit: float = 300,
        minion_program: str | None = None) -> dict[str, Any]:
    """Start a cloud-master and ``n`` edge-minions (keys preseeded), measure, stop everything.

    ``minion_program``: the edge-minion to run (main passes a device install's, see device_install).
    """
    master = Master()
    master.start()
    minions = []
    try:
        accepted = master.state_dir / "pki" / "minions"
        accepted.mkdir(parents=True, exist_ok=True)
        for i in range(1, n + 1):
            mid = f"car-{i:04d}"
            grains = {"role": "car"} if i % 2 else {"role": "kiosk"}
            mn = Minion(mid, master, config={"grains": grains, "heartbeat_interval": 30},
                        program=minion_program)
            (accepted / mid).write_text(write_minion_key(mn.state_dir))
            minions.append(mn)
        t0 = time.monotonic()
        for k, mn in enumerate(minions):
            mn.start()
            if k % 20 == 19:
                time.sleep(0.5)
        for mn in minions:
            mn.wait_log("minion ready", timeout=300)
        ready_all = time.monotonic() - t0
        master.wait_connected(n, timeout=300)
        # start-to-ready of one minion with the rest of the fleet idle, key already on disk
        starts: list[float] = []
        probe = minions[0]
        for k in range(3):
            probe.stop()
            s = time.monotonic()
            probe.start()
            probe.wait_log("minion ready", timeout=60, count=k + 2)
            starts.append(time.monotonic() - s)
        master.wait_connected(n, timeout=120)
        time.sleep(2)
        live = [mn.proc.pid for mn in minions if mn.proc]
        idle_rss = median([rss_mib(pid, children=True) for pid in live])
        idle_pss = median([pss_mib(pid, children=True) for pid in live])
        assert master.proc is not None
        cpu0 = cpu_seconds(master.proc.pid, children=True)
        ping_times, grain_times, p2r = [], [], []
        complete = True
        for _ in range(repeat):
            elapsed, data = _fleet(master, "*", "test.ping")
            complete &= len(data) == n and all(v is True for v in data.values())
            ping_times.append(elapsed)
            p2r.append(_publish_to_last_return(master, _latest_jid(master)))
            elapsed, data = _fleet(master, "-G", "role:car", "test.ping")
            complete &= len(data) == (n + 1) // 2
            grain_times.append(elapsed)
        cpu_per_call = (cpu_seconds(master.proc.pid, children=True) - cpu0) / (2 * repeat)
        # 100 jobs, then RSS again
        from cloud_master.control import ControlClient

        client = ControlClient(master.state_dir / "sock")
        for _ in range(100):
            client.call({"cmd": "publish", "tgt": "*", "tgt_type": "glob", "fun": "test.ping", "arg": [],
                         "subscribe": False})
        client.close()
        time.sleep(3)
        busy_rss = median([rss_mib(mn.proc.pid, children=True) for mn in minions if mn.proc])
        master_rss = rss_mib(master.proc.pid, children=True)
        master_cpu = cpu_seconds(master.proc.pid, children=True)
        # reconnect storm: SIGKILL the master, start it on the same state and ports
        master.stop(signal.SIGKILL)
        s = time.monotonic()
        master.start()
        storm, answered = _ping_until_all(master, n, s, storm_limit)
        result = {
            "n": n, "complete": complete, "ping_cli_s": median(ping_times), "grain_cli_s": median(grain_times),
            "publish_to_last_return_s": median(p2r), "master_rss_mib": master_rss, "master_cpu_s": master_cpu,
            "master_cpu_per_call_s": cpu_per_call, "minion_rss_idle_mib": idle_rss,
            "minion_pss_idle_mib": idle_pss, "minion_rss_after_100_jobs_mib": busy_rss,
            "minion_start_to_ready_s": median(starts), "all_ready_s": ready_all, "restart_all_answer_s": storm,
            "restart_answered": answered,
        }
        log(json.dumps({"ours": result}))
        return result
    finally:
        for mn in minions:
            mn.cleanup()
        master.cleanup()
