"""Where an idle ``edge-minion`` keeps its memory: RSS, PSS, USS and a per-mapping breakdown.

    .venv/bin/python -m tools.bench.minion_rss [--idle 5] [--runs 1] [--top 25] [--modules] [--dev]

Starts a real ``cloud-master`` and one real ``edge-minion`` (the console script users run,
from a venv installed as a device installs it, see ``device_install``; ``--dev`` runs the
development venv's instead; key preseeded and accepted) on 127.0.0.1, waits for "minion ready" plus ``--idle`` seconds,
then reads ``/proc/PID/smaps`` of the minion (and any children, as ``tools/bench/ours.py``
counts them). ``--modules`` starts a second minion with ``PYTHONPROFILEIMPORTTIME=1`` and
prints every module it imported up to idle, with the cumulative import time; that minion is
not the one measured. Prints figures only; it never passes or fails.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from tests.fleet_harness import Master, Minion
from tools.bench.common import write_minion_key
from tools.bench.device_install import device_install

MIB = 2**20


@dataclass
class Mapping:
    name: str
    size_kib: int = 0
    rss_kib: int = 0
    pss_kib: int = 0
    uss_kib: int = 0  # Private_Clean + Private_Dirty
    anon_kib: int = 0
    count: int = 0


@dataclass
class Smaps:
    groups: dict[str, Mapping] = field(default_factory=dict)

    @property
    def rss(self) -> int:
        return sum(m.rss_kib for m in self.groups.values())

    @property
    def pss(self) -> int:
        return sum(m.pss_kib for m in self.groups.values())

    @property
    def uss(self) -> int:
        return sum(m.uss_kib for m in self.groups.values())


_HEADER = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$")


def _group_name(path: str, size_kib: int) -> str:
    if not path:
        # Unnamed anonymous memory, bucketed by the usual owners' sizes: Python's obmalloc
        # arenas (1 MiB in 3.11), glibc thread arenas (64 MiB reserved), thread stacks (8 MiB).
        if size_kib >= 65536 - 4096:
            return "[anon: malloc arena >=60 MiB]"
        if 8192 <= size_kib <= 8192 + 8:
            return "[anon: 8 MiB (thread stack)]"
        return "[anon]"
    if path.startswith("["):
        return path
    base = Path(path.split(" (deleted)")[0]).name
    if ".so" in base or base.startswith("python"):
        return base
    return f"file:{base}"


def read_smaps(pid: int) -> Smaps:
    out = Smaps()
    current: Mapping | None = None
    size = 0
    with open(f"/proc/{pid}/smaps") as fh:
        for line in fh:
            head = _HEADER.match(line)
            if head:
                start, end, path = int(head.group(1), 16), int(head.group(2), 16), head.group(3).strip()
                size = (end - start) // 1024
                name = _group_name(path, size)
                current = out.groups.setdefault(name, Mapping(name))
                current.count += 1
                current.size_kib += size
                continue
            if current is None or ":" not in line:
                continue
            key, _, rest = line.partition(":")
            parts = rest.split()
            if not parts or not parts[0].isdigit():
                continue
            value = int(parts[0])
            if key == "Rss":
                current.rss_kib += value
            elif key == "Pss":
                current.pss_kib += value
            elif key in ("Private_Clean", "Private_Dirty"):
                current.uss_kib += value
            elif key == "Anonymous":
                current.anon_kib += value
    return out


def merge(many: list[Smaps]) -> Smaps:
    total = Smaps()
    for s in many:
        for name, m in s.groups.items():
            t = total.groups.setdefault(name, Mapping(name))
            for attr in ("size_kib", "rss_kib", "pss_kib", "uss_kib", "anon_kib", "count"):
                setattr(t, attr, getattr(t, attr) + getattr(m, attr))
    return total


def threads(pid: int) -> list[str]:
    names = []
    for task in sorted(Path(f"/proc/{pid}/task").iterdir(), key=lambda p: int(p.name)):
        try:
            names.append((task / "comm").read_text().strip())
        except OSError:
            pass
    return names


def _start_minion(master: Master, mid: str, program: str | None,
                  env: dict[str, str] | None = None) -> Minion:
    mn = Minion(mid, master, config={"heartbeat_interval": 30}, program=program)
    accepted = master.state_dir / "pki" / "minions"
    accepted.mkdir(parents=True, exist_ok=True)
    (accepted / mid).write_text(write_minion_key(mn.state_dir))
    mn.env = env
    mn.start()
    mn.wait_log("minion ready", timeout=60)
    return mn


def measure_once(master: Master, idle: float, run: int, program: str | None) -> tuple[float, Smaps, list[str]]:
    mn = _start_minion(master, f"rss-{run}", program)
    try:
        time.sleep(idle)
        assert mn.proc is not None
        proc = psutil.Process(mn.proc.pid)
        pids = [proc.pid, *(c.pid for c in proc.children(recursive=True))]
        psutil_rss = sum(psutil.Process(p).memory_info().rss for p in pids) / MIB
        smaps = merge([read_smaps(p) for p in pids])
        names = [f"{p}:{'/'.join(threads(p))}" for p in pids]
        return psutil_rss, smaps, names
    finally:
        mn.cleanup()


def imported_modules(master: Master, idle: float, program: str | None) -> list[tuple[str, int]]:
    """(module, cumulative import µs) for every import the minion made up to idle."""
    mn = _start_minion(master, "rss-modules", program, env={"PYTHONPROFILEIMPORTTIME": "1"})
    try:
        time.sleep(idle)
        text = mn.log_text()
    finally:
        mn.cleanup()
    # finditer, not per line: a log line written from another thread can share a line with one
    return [(m.group(2), int(m.group(1)))
            for m in re.finditer(r"import time:\s+\d+\s+\|\s+(\d+)\s+\|\s*([\w.]+)", text)]


def _print_breakdown(smaps: Smaps, top: int) -> None:
    rows = sorted(smaps.groups.values(), key=lambda m: m.rss_kib, reverse=True)
    print(f"{'mapping':44} {'n':>3} {'size MiB':>9} {'RSS MiB':>8} {'PSS MiB':>8} {'USS MiB':>8} {'anon MiB':>8}")
    for m in rows[:top]:
        print(f"{m.name[:44]:44} {m.count:3d} {m.size_kib / 1024:9.1f} {m.rss_kib / 1024:8.2f} "
              f"{m.pss_kib / 1024:8.2f} {m.uss_kib / 1024:8.2f} {m.anon_kib / 1024:8.2f}")
    rest = rows[top:]
    if rest:
        print(f"{'(' + str(len(rest)) + ' more)':44} {'':3} {'':9} {sum(m.rss_kib for m in rest) / 1024:8.2f} "
              f"{sum(m.pss_kib for m in rest) / 1024:8.2f} {sum(m.uss_kib for m in rest) / 1024:8.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--idle", type=float, default=5.0, help="seconds idle after 'minion ready' (default 5)")
    parser.add_argument("--runs", type=int, default=1, help="minions started one after the other (median RSS)")
    parser.add_argument("--top", type=int, default=25, help="mappings listed (default 25)")
    parser.add_argument("--modules", action="store_true", help="also list the modules imported up to idle")
    parser.add_argument("--dev", action="store_true",
                        help="run the development venv's edge-minion, not a device install's")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="minion-rss-") as tmp:
        program = None if args.dev else str(device_install(Path(tmp)) / "edge-minion")
        print(f"edge-minion: {program or 'the development venv'}")
        master = Master()
        master.start()
        try:
            results = [measure_once(master, args.idle, run, program) for run in range(args.runs)]
            modules = imported_modules(master, args.idle, program) if args.modules else []
        finally:
            master.cleanup()
    psutil_rss = [r[0] for r in results]
    smaps = results[-1][1]
    if args.runs > 1:
        print(f"RSS (psutil, as tools/bench/ours.py): runs {', '.join(f'{v:.1f}' for v in psutil_rss)} MiB; "
              f"median {statistics.median(psutil_rss):.1f} MiB")
    print(f"idle edge-minion: RSS {psutil_rss[-1]:.1f} MiB (psutil), smaps RSS {smaps.rss / 1024:.1f} MiB, "
          f"PSS {smaps.pss / 1024:.1f} MiB, USS {smaps.uss / 1024:.1f} MiB")
    print(f"threads: {'; '.join(results[-1][2])}")
    print()
    _print_breakdown(smaps, args.top)
    if modules:
        ours = sorted(name for name, _ in modules if name.split(".")[0] in ("edge_minion", "device_modules"))
        others = defaultdict(list)
        for name, _ in modules:
            if name.split(".")[0] not in ("edge_minion", "device_modules"):
                others[name.split(".")[0]].append(name)
        print(f"\n{len(modules)} modules imported up to idle ({len(ours)} ours)")
        print("ours: " + " ".join(ours))
        print("top-level packages (submodule count): "
              + " ".join(f"{k}({len(v)})" for k, v in sorted(others.items())))
        print("\nslowest cumulative imports (µs):")
        for name, us in sorted(modules, key=lambda x: x[1], reverse=True)[:25]:
            print(f"  {us:9d}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
