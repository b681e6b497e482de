"""How fast the ``fleet`` CLI starts: ``fleet --help`` and ``fleet --preview-target '*'`` (median of N runs).

    .venv/bin/python -m tools.bench.cli_start [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _time(argv: list[str], runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), min(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    fleet = str(Path(sys.executable).parent / "fleet")
    state = tempfile.mkdtemp(prefix="efcli-")
    rows = {
        "python -c pass (floor)": [sys.executable, "-c", "pass"],
        "fleet --help": [fleet, "--help"],
        "fleet --preview-target '*'": [fleet, "--state-dir", state, "--preview-target", "*"],
        "fleet --preview-target -C 'G@role:car and not L@a,b'": [
            fleet, "--state-dir", state, "--preview-target", "-C", "G@role:car and not L@a,b"],
    }
    print(f"{'command':55} {'median ms':>10} {'min ms':>8}")
    for name, argv in rows.items():
        med, low = _time(argv, args.runs)
        print(f"{name:55} {med:10.1f} {low:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
