"""Time ``edge_minion.targeting`` the way a master uses it: who is expected to answer?

    .venv/bin/python tools/bench/targeting.py [--minions 100000] [--runs 5] [--seed 7]

Builds a fleet of fake cached minions (ids ``car-000001``...; grains role,
model, os, ipv4; one in fifty never cached, so grain terms report it as
unknown), then prints the median of ``--runs`` timings of ``expected_minions``
for a glob, a list, a grain and a compound target, the cost of ``parse`` and
of one minion-side ``matches``, and the cost of ``import edge_minion.targeting``
in a fresh interpreter (minus the interpreter's own start-up). Figures only:
no pass or fail.

Salt splits compound targets on spaces, so the model glob is written
``*Pi?4*``: ``*Pi 4*`` would be two words and a syntax error.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from edge_minion.targeting import expected_minions, parse  # noqa: E402

MODELS = ("Raspberry Pi 4 Model B Rev 1.4", "Raspberry Pi 4 Model B Rev 1.5", "Raspberry Pi 3 Model B Plus Rev 1.3",
          "Raspberry Pi 5 Model B Rev 1.0", "Raspberry Pi Zero 2 W Rev 1.0")
ROLES = ("car", "car", "car", "car", "car", "car", "gateway", "camera")
OSES = ("Debian", "Raspbian", "Ubuntu")

TARGETS: list[tuple[str, Any, str]] = [
    ("glob", "car-00*", "glob"),
    ("list (100 ids)", ",".join(f"car-{n:06d}" for n in range(1, 200, 2)), "list"),
    ("grain", "role:car", "grain"),
    ("compound", "G@role:car and G@model:*Pi?4* and not L@car-000007,car-000008 or S@10.1.0.0/16", "compound"),
]


def fleet(size: int, seed: int) -> dict[str, dict[str, Any] | None]:
    rng = random.Random(seed)
    minions: dict[str, dict[str, Any] | None] = {}
    for n in range(1, size + 1):
        if n % 50 == 0:
            minions[f"car-{n:06d}"] = None
            continue
        minions[f"car-{n:06d}"] = {
            "id": f"car-{n:06d}", "role": rng.choice(ROLES), "model": rng.choice(MODELS), "os": rng.choice(OSES),
            "ipv4": ["127.0.0.1", f"10.{rng.choice((1, 2, 3))}.{rng.randrange(256)}.{rng.randrange(1, 255)}"],
            "num_cpus": 4,
        }
    return minions


def median_seconds(fn: Callable[[], object], runs: int) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def import_cost(runs: int) -> tuple[float, float]:
    """(median seconds for ``python -c 'import edge_minion.targeting'``, for ``python -c pass``)."""
    def run(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
        return time.perf_counter() - start
    return (statistics.median(run("import edge_minion.targeting") for _ in range(runs)),
            statistics.median(run("pass") for _ in range(runs)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    minions = fleet(args.minions, args.seed)
    print(f"{len(minions):,} cached minions ({sum(g is None for g in minions.values()):,} never cached), "
          f"median of {args.runs} runs, python {sys.version.split()[0]}")
    print(f"{'target':<16} {'expected_minions':>17} {'matched':>9} {'unknown':>8} {'parse':>10} {'matches':>10}")
    sample = minions["car-000001"]
    for label, tgt, tgt_type in TARGETS:
        target = parse(tgt, tgt_type)
        result = expected_minions(target, minions)
        seconds = median_seconds(lambda: expected_minions(target, minions), args.runs)  # noqa: B023
        parse_us = median_seconds(lambda: [parse(tgt, tgt_type) for _ in range(100)], args.runs) * 1e4  # noqa: B023
        match_us = median_seconds(lambda: [target.matches("car-000001", sample) for _ in range(1000)],  # noqa: B023
                                  args.runs) * 1e3
        print(f"{label:<16} {seconds * 1000:>14.1f} ms {len(result.matched):>9,} {len(result.unknown):>8,} "
              f"{parse_us:>7.1f} us {match_us:>7.2f} us")
    with_import, bare = import_cost(args.runs)
    print(f"import edge_minion.targeting: {(with_import - bare) * 1000:.1f} ms "
          f"(python -c: {with_import * 1000:.1f} ms with the import, {bare * 1000:.1f} ms without)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
