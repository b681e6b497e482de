"""Real Salt (salt-master and N salt-minions from PyPI) on this machine: the figures ours.py takes.

The master runs with Salt's stock ``worker_threads: 5``; minions are the harness's
single-process salt-minions. Keys are preseeded (as for our minions), and minions are
launched in batches of ten, each batch waited for, because starting many at once makes
Salt's sign-in retries storm (SALT-PROTOCOL.md §10).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.fleet_harness import free_ports
from tests.salt_peer import SaltMaster, SaltMinion, require_salt, short_dir, stop_all
from tools.bench.common import cpu_seconds, median, pss_mib, rss_mib, write_minion_key

BATCH = 10
_PYTHON_ENV = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV")
# Publishes N jobs through Salt's own LocalClient: one interpreter instead of N CLI start-ups.
_PUBLISH = "import sys, salt.client\nc = salt.client.LocalClient(sys.argv[1])\n" \
           "[c.cmd_async('*', 'test.ping') for _ in range(int(sys.argv[2]))]\n"


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _PYTHON_ENV}


def _salt(master: SaltMaster, *args: str, timeout: float = 300) -> tuple[float, dict[str, Any]]:
    """Time ``salt -c BASE ARGS --out json`` from start to exit, as a user runs it (no ``--static``)."""
    argv = [str(require_salt() / "bin" / "salt"), "-c", str(master.base_dir), *args, "--out", "json"]
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=_env(),
                          stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    return elapsed, _returns(proc.stdout)


def _returns(out: str) -> dict[str, Any]:
    """Merge the one-object-per-minion JSON stream that ``--out json`` prints."""
    merged: dict[str, Any] = {}
    decoder = json.JSONDecoder()
    pos = 0
    while pos < len(out):
        while pos < len(out) and out[pos].isspace():
            pos += 1
        if pos >= len(out):
            break
        try:
            obj, pos = decoder.raw_decode(out, pos)
        except json.JSONDecodeError:
            break
        if isinstance(obj, dict):
            merged.update(obj)
    return merged


def _publish_to_last_return(master: SaltMaster) -> float:
    """From the newest job's jid (its publish time) to the newest return.p in the local job cache."""
    jobs = Path(master.config["cachedir"]) / "jobs"
    newest: tuple[float, str, Path] | None = None
    for path in jobs.glob("*/*/jid"):
        try:
            jid = path.read_text().strip()
            mtime = path.stat().st_mtime
        except OSError:
            continue
        if len(jid) >= 20 and jid[:20].isdigit() and (newest is None or mtime > newest[0]):
            newest = (mtime, jid, path.parent)
    if newest is None:
        return float("nan")
    _, jid, job_dir = newest
    returns = [p.stat().st_mtime for p in job_dir.glob("*/return.p")]
    if not returns:
        return float("nan")
    # jids are local time, microseconds: YYYYmmddHHMMSSffffff
    published = time.mktime(time.strptime(jid[:14], "%Y%m%d%H%M%S")) + int(jid[14:20]) / 1e6
    return max(returns) - published


def _ping_until_all(master: SaltMaster, n: int, since: float, limit: float) -> tuple[float, int]:
    best = 0
    while time.monotonic() - since < limit:
        _, data = _salt(master, "*", "test.ping", "-t", "3")
        answered = sum(1 for v in data.values() if v is True)
        best = max(best, answered)
        if answered == n:
            return time.monotonic() - since, n
    return float("nan"), best


def run(n: int, repeat: int = 5, log: Any = print, storm_limit: float = 300) -> dict[str, Any]:
    """Start a salt-master and ``n`` salt-minions (keys preseeded), measure, stop everything."""
    base = short_dir("sbm-")
    pub_port, ret_port = free_ports(2)
    master = SaltMaster(base / "m", pub_port, ret_port, extra={"worker_threads": 5})
    minions: list[SaltMinion] = []
    try:
        master.start()
        master.wait_ready(120)
        accepted = master.pki_dir / "minions"
        accepted.mkdir(parents=True, exist_ok=True)
        for i in range(1, n + 1):
            mid = f"car-{i:04d}"
            mn = SaltMinion(base / f"{i:04d}", mid, master_port=ret_port, publish_port=pub_port,
                            extra={"grains": {"role": "car" if i % 2 else "kiosk"}})
            (accepted / mid).write_text(write_minion_key(mn.base_dir) + "\n")
            os.chmod(mn.pki_dir / "minion.pem", 0o600)
            minions.append(mn)
        t0 = time.monotonic()
        for k in range(0, n, BATCH):
            batch = minions[k:k + BATCH]
            for mn in batch:
                mn.start()
            for mn in batch:
                mn.wait_ready(600)
        ready_all = time.monotonic() - t0
        starts: list[float] = []
        probe = minions[0]
        for _ in range(3):
            probe.stop()
            s = time.monotonic()
            probe.start()
            probe.wait_ready(120)
            starts.append(time.monotonic() - s)
        time.sleep(2)
        idle_rss = median([rss_mib(mn.pid, children=True) for mn in minions])
        idle_pss = median([pss_mib(mn.pid, children=True) for mn in minions])
        cpu0 = cpu_seconds(master.pid, children=True)
        ping_times, grain_times, p2r = [], [], []
        complete = True
        for _ in range(repeat):
            elapsed, data = _salt(master, "*", "test.ping")
            complete &= len(data) == n and all(v is True for v in data.values())
            ping_times.append(elapsed)
            p2r.append(_publish_to_last_return(master))
            elapsed, data = _salt(master, "-G", "role:car", "test.ping")
            complete &= len(data) == (n + 1) // 2
            grain_times.append(elapsed)
        cpu_per_call = (cpu_seconds(master.pid, children=True) - cpu0) / (2 * repeat)
        try:
            subprocess.run([str(require_salt() / "bin" / "python"), "-c", _PUBLISH, str(master.config_path),
                            "100"], env=_env(), capture_output=True, timeout=300, check=False)
        except subprocess.TimeoutExpired:
            # A loaded salt-master can take minutes to take 100 publishes; the RSS is read anyway,
            # after however many went out, rather than losing the whole row.
            log(f"   Salt N = {n}: LocalClient had not published 100 jobs after 300 s; reading RSS anyway")
        time.sleep(max(3.0, n / 10))
        busy_rss = median([rss_mib(mn.pid, children=True) for mn in minions])
        master_rss = rss_mib(master.pid, children=True)
        master_cpu = cpu_seconds(master.pid, children=True)
        # reconnect storm: kill the master's process group, start it on the same state and ports
        master.config["gather_job_timeout"] = 2
        stop_all([master], grace=0)
        s = time.monotonic()
        master.start()
        master.wait_ready(120)
        storm, answered = _ping_until_all(master, n, s, storm_limit)
        result = {
            "n": n, "complete": complete, "ping_cli_s": median(ping_times), "grain_cli_s": median(grain_times),
            "publish_to_last_return_s": median(p2r), "master_rss_mib": master_rss, "master_cpu_s": master_cpu,
            "master_cpu_per_call_s": cpu_per_call, "minion_rss_idle_mib": idle_rss,
            "minion_pss_idle_mib": idle_pss, "minion_rss_after_100_jobs_mib": busy_rss,
            "minion_start_to_ready_s": median(starts), "all_ready_s": ready_all, "restart_all_answer_s": storm,
            "restart_answered": answered,
        }
        log(json.dumps({"salt": result}))
        return result
    finally:
        stop_all([*minions, master], grace=10)
        shutil.rmtree(base, ignore_errors=True)
