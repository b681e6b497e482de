"""One cloud-master against M simulated minions multiplexed in a few processes."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from cloud_master.control import ControlClient
from tests.fleet_harness import Master
from tools.bench.common import cpu_seconds, median, rss_mib
from tools.sim.keys import ensure_keys, preseed

KEYS = Path(os.environ.get("EDGEFLEET_SIM_KEYS", str(Path(__file__).resolve().parents[2] / ".bench-cache" / "keys")))


def _raise_fd_limit(n: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(soft, n)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))


def _ping_all(master: Master, m: int, timeout: float = 60) -> tuple[float, int, float]:
    """Publish test.ping to '*' and count returns.

    Returns (seconds from the master's publish to the last return reaching the CLI, returns, seconds the
    publish call took). The master stamps ``published_at`` (wall clock, same host) right after its PUB
    send, so returns that arrive before the CLI hears ``published`` are counted from the right moment.
    """
    client = ControlClient(master.state_dir / "sock")
    t0 = time.perf_counter()
    published = client.call({"cmd": "publish", "tgt": "*", "tgt_type": "glob", "fun": "test.ping", "arg": []},
                            timeout=60)
    t_call = time.perf_counter() - t0
    published_at = float(published.get("published_at", time.time()))
    got: set[str] = set()
    last = published_at
    end = time.monotonic() + timeout
    while len(got) < m and time.monotonic() < end:
        msg = client.recv(0.5)
        if msg and msg.get("event") == "return" and msg.get("jid") == published["jid"]:
            got.add(str(msg["id"]))
            last = time.time()
    client.send({"cmd": "unsubscribe", "jid": published["jid"]})
    client.close()
    return max(last - published_at, 0.0), len(got), t_call


def run(m: int, processes: int = 4, repeat: int = 3, log: Any = print) -> dict[str, Any]:
    _raise_fd_limit(4 * m + 4096)
    ensure_keys(KEYS, m)
    master = Master(config={"presence_timeout": 3600})
    preseed(KEYS, m, master.state_dir)
    master.start()
    procs: list[subprocess.Popen[str]] = []
    try:
        per = (m + processes - 1) // processes
        t0 = time.monotonic()
        for p in range(processes):
            count = min(per, m - p * per)
            if count <= 0:
                break
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "tools.sim.fleet", "--port", str(master.ret_port), "--count", str(count),
                 "--first", str(p * per), "--keys", str(KEYS), "--stats-every", "3600"],
                stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2],
                preexec_fn=lambda: _raise_fd_limit(4 * per + 1024)))
        for proc in procs:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError("a simulated fleet process died during start-up")
        setup_s = time.monotonic() - t0
        master.wait_connected(m, timeout=600)
        time.sleep(2)
        cpu0 = cpu_seconds(master.proc.pid, children=True) if master.proc else 0.0
        lat, counts = [], []
        for _ in range(repeat):
            seconds, got, _ = _ping_all(master, m)
            lat.append(seconds)
            counts.append(got)
            time.sleep(1)
        cpu = (cpu_seconds(master.proc.pid, children=True) if master.proc else 0.0) - cpu0
        result = {
            "m": m, "publish_to_all_returns_s": median(lat), "answered": min(counts),
            "returns_per_s": m / median(lat) if median(lat) > 0 else float("nan"),
            "master_cpu_s_per_round": cpu / repeat,
            "master_rss_mib": rss_mib(master.proc.pid, children=True) if master.proc else 0,
            "fleet_setup_s": setup_s,
        }
        log(json.dumps({"simulated": result}))
        return result
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        master.cleanup()
