"""Time grain collection on this machine.

    .venv/bin/python tools/bench/grains.py [--runs 200] [--root /]

Runs ``edge_minion.grains.collect`` ``--runs`` times after one warm-up call and
prints the mean, median and 95th percentile in milliseconds, then the cost of
``Grains.items()`` (what the minion pays per publish), then how many processes
the collections spawned: counted by a ``sys.addaudithook`` hook on every
process-creating audit event, and cross-checked with psutil's list of children.
Figures only: no pass or fail.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from edge_minion.grains import Grains, collect  # noqa: E402

#: Audit events raised whenever Python is about to create a process.
SPAWN_EVENTS = frozenset({"subprocess.Popen", "os.system", "os.posix_spawn", "os.spawn", "os.fork",
                          "os.forkpty", "os.exec", "pty.spawn"})


class SpawnCounter:
    """Counts process-creating audit events while ``armed``."""

    def __init__(self) -> None:
        self.armed = False
        self.count = 0
        sys.addaudithook(self)

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if self.armed and event in SPAWN_EVENTS:
            self.count += 1


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="collections to time (default 200)")
    parser.add_argument("--root", type=Path, default=Path("/"), help="root of /proc and /etc (default /)")
    args = parser.parse_args(argv)

    counter = SpawnCounter()
    me = psutil.Process()
    children_before = {p.pid for p in me.children(recursive=True)}
    collect("bench", args.root)  # warm-up: imports, first psutil call

    counter.armed = True
    samples = []
    children_seen: set[int] = set()
    for _ in range(args.runs):
        start = time.perf_counter()
        collect("bench", args.root)
        samples.append((time.perf_counter() - start) * 1000)
        children_seen.update(p.pid for p in me.children(recursive=True))
    counter.armed = False

    with tempfile.TemporaryDirectory() as state_dir:
        store = Grains("bench", {}, Path(state_dir), root=args.root)
        store.items()
        start = time.perf_counter()
        for _ in range(args.runs):
            store.items()
        items_us = (time.perf_counter() - start) / args.runs * 1e6

    python = sys.version.split()[0]
    print(f"collect() x {args.runs} on {args.root} ({psutil.cpu_count()} CPUs, Python {python})")
    print(f"  mean    {statistics.fmean(samples):8.3f} ms")
    print(f"  median  {statistics.median(samples):8.3f} ms")
    print(f"  p95     {percentile(samples, 0.95):8.3f} ms")
    print(f"  min/max {min(samples):8.3f} / {max(samples):.3f} ms")
    print(f"Grains.items() (cached) {items_us:8.1f} us per call")
    print(f"processes spawned (audit events) {counter.count}")
    print(f"child processes seen (psutil)    {len(children_seen - children_before)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
