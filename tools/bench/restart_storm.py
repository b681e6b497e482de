"""Restart storm: SIGKILL the master under N connected minions; time until all answer test.ping again.

    python -m tools.bench.restart_storm [--minions 500] [--processes 4]
    python -m tools.bench.restart_storm --salt [--salt-minions 50]     # also real Salt, for comparison

edgefleet: ``cloud-master`` and N simulated minions (``tools.sim.fleet``, many per
process, the real protocol core, preseeded keys). After the restart a ping is
published every ``--every`` seconds through the control socket; the figure is the
time from the new master's start until each of the N minions has answered one,
taken from the return events. Salt: ``salt-master`` and real ``salt-minion``
processes (about 100 MB each, hence the smaller default); the same figure from
``salt '*' test.ping`` calls repeated until every minion has answered. Both use
their own default re-auth delay (edgefleet ``random_reauth_delay`` 5 s, Salt 10 s).
Prints figures only.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from cloud_master.control import ControlClient
from tests.fleet_harness import Master, free_ports
from tools.sim.keys import ensure_keys, preseed

REPO = Path(__file__).resolve().parents[2]
KEYS = Path(os.environ.get("EDGEFLEET_SIM_KEYS", str(REPO / ".bench-cache" / "keys")))


def _raise_fd_limit(n: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, n), hard), hard))


def _collect_stats(stream: IO[str], last: dict[str, int]) -> None:
    """Keep the latest ``stats`` line of one simulated fleet process."""
    for line in stream:
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            continue
        last.update({k: v for k, v in msg.items() if isinstance(v, int)})


def _answer_times(master: Master, n: int, timeout: float, every: float) -> tuple[float, bool]:
    """Ping every ``every`` seconds until each of ``n`` minions answered one; (seconds, one ping got all)."""
    client = ControlClient(master.state_dir / "sock")
    started = time.monotonic()
    answered: set[str] = set()
    per_jid: dict[str, set[str]] = {}
    next_ping = started
    try:
        while len(answered) < n and time.monotonic() - started < timeout:
            if time.monotonic() >= next_ping:
                reply = client.call({"cmd": "publish", "tgt": "*", "tgt_type": "glob", "fun": "test.ping",
                                     "arg": []}, timeout=60)
                per_jid[str(reply["jid"])] = set()
                next_ping += every
            msg = client.recv(0.05)
            if msg is not None and msg.get("event") == "return" and msg.get("jid") in per_jid:
                answered.add(str(msg["id"]))
                per_jid[str(msg["jid"])].add(str(msg["id"]))
        elapsed = time.monotonic() - started
        while any(len(got) < n for got in per_jid.values()) and time.monotonic() - started < elapsed + 15:
            msg = client.recv(0.2)  # let the pings already out finish
            if msg is not None and msg.get("event") == "return" and msg.get("jid") in per_jid:
                per_jid[str(msg["jid"])].add(str(msg["id"]))
    finally:
        client.close()
    return (elapsed if len(answered) >= n else float("nan")), any(len(got) >= n for got in per_jid.values())


def ours(n: int, processes: int, every: float, timeout: float) -> dict[str, Any]:
    _raise_fd_limit(4 * n + 4096)
    ensure_keys(KEYS, n)
    master = Master(config={"presence_timeout": 3600})
    preseed(KEYS, n, master.state_dir)
    master.start()
    procs: list[subprocess.Popen[str]] = []
    stats: list[dict[str, int]] = []
    try:
        per = (n + processes - 1) // processes
        for p in range(processes):
            count = min(per, n - p * per)
            if count <= 0:
                break
            proc = subprocess.Popen(
                [sys.executable, "-m", "tools.sim.fleet", "--port", str(master.ret_port), "--count", str(count),
                 "--first", str(p * per), "--keys", str(KEYS), "--stats-every", "1"],
                stdout=subprocess.PIPE, text=True, cwd=REPO, preexec_fn=lambda: _raise_fd_limit(4 * per + 1024))
            procs.append(proc)
        for proc in procs:
            assert proc.stdout is not None
            if not proc.stdout.readline():
                raise RuntimeError("a simulated fleet process died during start-up")
            stats.append({})
            threading.Thread(target=_collect_stats, args=(proc.stdout, stats[-1]), daemon=True).start()
        master.wait_connected(n, timeout=600)
        before, _ = _answer_times(master, n, timeout, every)
        time.sleep(1.5)
        errors_before = sum(s.get("auth_errors", 0) for s in stats)
        auths_before = sum(s.get("auths", 0) for s in stats)
        master.stop(signal.SIGKILL)
        killed = time.monotonic()
        master.start()
        up = time.monotonic() - killed
        after, one_ping = _answer_times(master, n, timeout, every)
        time.sleep(1.5)
        return {"n": n, "processes": processes, "before_s": before, "master_up_s": up, "all_answer_s": after,
                "one_ping_all": one_ping,
                "reauths": sum(s.get("auths", 0) for s in stats) - auths_before,
                "auth_errors": sum(s.get("auth_errors", 0) for s in stats) - errors_before}
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        master.cleanup()


def _salt_answered(master: Any) -> set[str]:
    from tests.salt_peer import SaltPeerTimeout

    try:
        proc = master.salt(["-t", "5", "*", "test.ping"], timeout=60)
        data = json.loads(proc.stdout or "{}")
    except (SaltPeerTimeout, json.JSONDecodeError):
        return set()
    return {mid for mid, value in data.items() if value is True}


def _salt_all_answer(master: Any, n: int, timeout: float) -> float:
    started = time.monotonic()
    answered: set[str] = set()
    while len(answered) < n and time.monotonic() - started < timeout:
        answered |= _salt_answered(master)
    return time.monotonic() - started if len(answered) >= n else float("nan")


def salt(n: int, timeout: float) -> dict[str, Any]:
    from tests.salt_peer import SaltMaster, SaltMinion, require_salt, short_dir, stop_all

    require_salt()
    pub_port, ret_port = free_ports(2)
    master = SaltMaster(short_dir("srs-m-"), pub_port, ret_port, auto_accept=True, extra={"worker_threads": 5})
    minions = [SaltMinion(short_dir("srs-"), f"salt-{i:03d}", master_port=ret_port, publish_port=pub_port)
               for i in range(n)]
    try:
        master.start()
        master.wait_ready(120)
        for i in range(0, n, 10):
            batch = minions[i:i + 10]
            for mn in batch:
                mn.start()
            for mn in batch:
                mn.wait_ready(300)
        before = _salt_all_answer(master, n, timeout)
        time.sleep(1.5)
        killed = time.monotonic()
        master.stop(grace=0)  # SIGTERM and SIGKILL at once: the process group dies
        master.start()
        master.wait_ready(120)
        up = time.monotonic() - killed
        after = _salt_all_answer(master, n, timeout)
        return {"n": n, "before_s": before, "master_up_s": up, "all_answer_s": after}
    finally:
        stop_all([*minions, master], grace=2.0)


def _fmt(value: float) -> str:
    return "n/a" if value != value else f"{value:.1f} s"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minions", type=int, default=500, help="edgefleet minions (simulated)")
    p.add_argument("--processes", type=int, default=4, help="processes the simulated minions share")
    p.add_argument("--every", type=float, default=2.0, help="seconds between pings while waiting")
    p.add_argument("--timeout", type=float, default=300.0, help="give up waiting after this many seconds")
    p.add_argument("--salt", action="store_true", help="also run real Salt")
    p.add_argument("--salt-minions", type=int, default=50)
    p.add_argument("--no-ours", action="store_true", help="only Salt")
    args = p.parse_args(argv)
    if not args.no_ours:
        r = ours(args.minions, args.processes, args.every, args.timeout)
        print(f"edgefleet restart storm: {r['n']} simulated minions in {r['processes']} processes\n"
              f"  before the restart, all answered in      {_fmt(r['before_s'])}\n"
              f"  master SIGKILLed, listening again after  {_fmt(r['master_up_s'])}\n"
              f"  all {r['n']} answered test.ping again in  {_fmt(r['all_answer_s'])} after the restart "
              f"(one ping answered by all: {'yes' if r['one_ping_all'] else 'no'})\n"
              f"  minion sign-ins {r['reauths']}, sign-ins refused or timed out {r['auth_errors']}", flush=True)
    if args.salt:
        s = salt(args.salt_minions, args.timeout)
        print(f"Salt restart storm: {s['n']} salt-minion processes\n"
              f"  before the restart, all answered in      {_fmt(s['before_s'])}\n"
              f"  master killed, ready again after         {_fmt(s['master_up_s'])}\n"
              f"  all {s['n']} answered test.ping again in  {_fmt(s['all_answer_s'])} after the restart "
              "(salt -t 5 '*' test.ping, repeated)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
