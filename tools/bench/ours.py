"""edgefleet with N real minion processes on this machine."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from typing import Any

from tests.fleet_harness import Master, Minion, tool
from tools.bench.common import cpu_seconds, median, rss_mib, timed, write_minion_key


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


def run(n: int, repeat: int = 5, log: Any = print) -> dict[str, Any]:
    master = Master()
    master.start()
    minions = []
    try:
        for i in range(1, n + 1):
            mid = f"car-{i:04d}"
            grains = {"role": "car"} if i % 2 else {"role": "kiosk"}
            mn = Minion(mid, master, config={"grains": grains, "heartbeat_interval": 30})
            pub = write_minion_key(mn.state_dir)
            (master.state_dir / "pki" / "minions").mkdir(parents=True, exist_ok=True)
            (master.state_dir / "pki" / "minions" / mid).write_text(pub)
            minions.append(mn)
        starts: list[float] = []
        t0 = time.monotonic()
        for k, mn in enumerate(minions):
            mn.start()
            if k % 20 == 19:
                time.sleep(0.5)
        for mn in minions:
            mn.wait_log("minion ready", timeout=300)
        ready_all = time.monotonic() - t0
        master.wait_connected(n, timeout=300)
        # start-to-ready of one minion on an idle machine, key already on disk
        probe = minions[0]
        probe.stop()
        s = time.monotonic()
        probe.start()
        probe.wait_log("minion ready", timeout=60, count=2)
        starts.append(time.monotonic() - s)
        master.wait_connected(n, timeout=120)
        time.sleep(2)
        idle_rss = median([rss_mib(mn.proc.pid) for mn in minions if mn.proc])
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
        # 100 jobs, then RSS again
        from cloud_master.control import ControlClient

        client = ControlClient(master.state_dir / "sock")
        for _ in range(100):
            client.call({"cmd": "publish", "tgt": "*", "tgt_type": "glob", "fun": "test.ping", "arg": [],
                         "subscribe": False})
        client.close()
        time.sleep(3)
        busy_rss = median([rss_mib(mn.proc.pid) for mn in minions if mn.proc])
        master_rss = rss_mib(master.proc.pid) if master.proc else float("nan")
        master_cpu = cpu_seconds(master.proc.pid) if master.proc else float("nan")
        # reconnect storm
        master.stop(signal.SIGKILL)
        s = time.monotonic()
        master.start()
        while time.monotonic() - s < 300:
            _, data = _fleet(master, "*", "test.ping", "-t", "3", "--gather-job-timeout", "2")
            if len(data) == n and all(v is True for v in data.values()):
                break
        storm = time.monotonic() - s
        result = {
            "n": n, "complete": complete, "ping_cli_s": median(ping_times), "grain_cli_s": median(grain_times),
            "publish_to_last_return_s": median(p2r), "master_rss_mib": master_rss, "master_cpu_s": master_cpu,
            "minion_rss_idle_mib": idle_rss, "minion_rss_after_100_jobs_mib": busy_rss,
            "minion_start_to_ready_s": median(starts), "all_ready_s": ready_all, "restart_all_answer_s": storm,
        }
        log(json.dumps({"ours": result}))
        return result
    finally:
        for mn in minions:
            mn.cleanup()
        master.cleanup()
