"""The benchmark command: real edgefleet and real Salt fleets, a simulated fleet, a report.

    tools/bench/run [--minions 10,50,100,200] [--salt-minions 10,50,100] [--sim 1000,5000,10000]
                    [--repeat 5] [--skip-salt] [--skip-sim] [--quick]

Prints each figure as it is measured (and ours/Salt ratios), then writes
``tools/bench/RESULTS.md``, ``tools/bench/latency.png`` and ``tools/bench/results.json``.
Figures only: nothing passes or fails. ``--report-only`` re-renders from ``results.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil

from tools.bench import report
from tools.bench.common import fmt

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SALT_CAP = 100
SALT_CAP_REASON = ("salt-minions are capped at 100 by default: 200 salt-minions need about 23 GB of RAM and take "
                   "about 15 minutes to settle on this 2-core machine (SALT-PROTOCOL.md §10); pass --salt-minions "
                   "to override")
# `salt '*' test.ping` with 100 salt-minions, measured earlier on this machine (SALT-PROTOCOL.md §10).
SALT_REFERENCE_100_S = 15.3


def _sizes(text: str) -> list[int]:
    return sorted({int(part) for part in text.split(",") if part.strip()})


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="tools/bench/run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minions", type=_sizes, default=[10, 50, 100, 200], help="real edge-minion fleet sizes")
    p.add_argument("--salt-minions", type=_sizes, default=None,
                   help=f"real salt-minion fleet sizes (default: --minions capped at {SALT_CAP})")
    p.add_argument("--sim", type=_sizes, default=[1000, 5000, 10000], help="simulated fleet sizes")
    p.add_argument("--sim-processes", type=int, default=4, help="processes the simulated minions share")
    p.add_argument("--repeat", type=int, default=5, help="CLI calls per figure (the median is reported)")
    p.add_argument("--skip-salt", action="store_true")
    p.add_argument("--skip-sim", action="store_true")
    p.add_argument("--quick", action="store_true", help="smoke run: N = 10, M = 1000, repeat 2")
    p.add_argument("--quiet-load", type=float, default=1.5,
                   help="before each heavy section wait (up to --quiet-wait s) for the 1-minute load to drop below")
    p.add_argument("--quiet-wait", type=float, default=120)
    p.add_argument("--out", type=Path, default=HERE, help="where RESULTS.md, latency.png, results.json go")
    p.add_argument("--report-only", action="store_true", help="re-render the report from <out>/results.json")
    p.add_argument("--append", action="store_true",
                   help="add to <out>/results.json (replacing rows of the same fleet sizes) instead of starting afresh")
    args = p.parse_args(argv)
    if args.quick:
        args.minions, args.sim, args.repeat = [10], [1000], 2
        if args.salt_minions is None:
            args.salt_minions = [10]
    if args.salt_minions is None:
        args.salt_minions = [n for n in args.minions if n <= SALT_CAP]
    return args


def _git_commit() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha + (" (work tree has uncommitted changes)" if dirty else "")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _salt_version() -> str:
    try:
        from tests.salt_peer import require_salt

        out = subprocess.run([str(require_salt() / "bin" / "salt-master"), "--version"], capture_output=True,
                             text=True, timeout=60, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
        return out.stdout.strip() or "unknown"
    except (RuntimeError, OSError, subprocess.TimeoutExpired):
        return "not installed"


def machine_facts(argv: Sequence[str]) -> dict[str, Any]:
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["tools/bench/run", *argv]),
        "uname": " ".join(platform.uname()),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "salt_version": _salt_version(),
        "commit": _git_commit(),
        "salt_reference_100_s": SALT_REFERENCE_100_S,
    }


def wait_quiet(limit: float, wait: float, what: str) -> float:
    """Wait up to ``wait`` s for the 1-minute load average to drop below ``limit``; returns the load."""
    end = time.monotonic() + wait
    load = os.getloadavg()[0]
    while load >= limit and time.monotonic() < end:
        time.sleep(5)
        load = os.getloadavg()[0]
    print(f"-- {what}: load average {load:.2f}", flush=True)
    return load


def _print_pair(ours: dict[str, Any], salt: dict[str, Any]) -> None:
    print(f"== N = {ours['n']}: ours / Salt (ours/Salt)", flush=True)
    for key, label, digits in report.REAL_FIGURES:
        a, b = float(ours.get(key, "nan")), float(salt.get(key, "nan"))
        r = report.ratio(a, b)
        print(f"   {label}: {fmt(a, digits)} / {fmt(b, digits)} ({fmt(r, 3)})", flush=True)


def _merge_base(old: dict[str, Any], meta: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Earlier results minus the rows this run re-measures; commands and dates of both runs kept."""
    salt_sizes = set() if args.skip_salt else set(args.salt_minions)
    sim_sizes = set() if args.skip_sim else set(args.sim)
    meta = {**meta, "command": f"{old['meta'].get('command')} ; then {meta['command']}",
            "date": f"{old['meta'].get('date')} to {meta['date']}"}
    remeasured = ([f"edgefleet N = {n} failed" for n in args.minions]
                  + [f"Salt N = {n} failed" for n in salt_sizes] + [f"simulated M = {m} failed" for m in sim_sizes])
    notes = [n for n in old.get("notes", [])
             if not n.startswith("1-minute load") and not n.startswith(tuple(remeasured))]
    return {"meta": meta, "notes": notes,
            "ours": [r for r in old.get("ours", []) if r["n"] not in set(args.minions)],
            "salt": [r for r in old.get("salt", []) if r["n"] not in salt_sizes],
            "sim": [r for r in old.get("sim", []) if r["m"] not in sim_sizes]}


def _section(what: str, notes: list[str], fn: Any, *a: Any, **kw: Any) -> dict[str, Any] | None:
    """Run one measurement; a failure is printed and noted, and the other sections still run."""
    try:
        return dict(fn(*a, **kw))
    except Exception as exc:  # noqa: BLE001 - a benchmark keeps going and says what failed
        print(f"!! {what} failed: {exc!r}", flush=True)
        notes.append(f"{what} failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}")
        return None


def _quiet_log(line: str) -> None:
    print("   " + line, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    store = args.out / "results.json"
    if args.report_only:
        report.write(json.loads(store.read_text()), args.out)
        return 0
    results: dict[str, Any] = {"meta": machine_facts(argv), "ours": [], "salt": [], "sim": [], "notes": []}
    if args.append and store.exists():
        results = _merge_base(json.loads(store.read_text()), results["meta"], args)
    notes: list[str] = results["notes"]
    if not args.skip_salt and max(args.minions, default=0) > max(args.salt_minions, default=0):
        print(f"note: {SALT_CAP_REASON}", flush=True)
        notes.append(f"Salt fleet sizes: {args.salt_minions}. {SALT_CAP_REASON}.")
    print(json.dumps(results["meta"]), flush=True)

    def save() -> None:
        args.out.mkdir(parents=True, exist_ok=True)
        store.write_text(json.dumps(results, indent=1))

    from tools.bench import ours, salt
    from tools.bench.device_install import device_install

    device_dir = Path(tempfile.mkdtemp(prefix="bench-device-"))
    minion_program = str(device_install(device_dir) / "edge-minion") if args.minions else None
    if minion_program:
        print(f"edge-minion: {minion_program} (installed as a device installs it)", flush=True)
        notes.append("The edge-minions run from a venv installed the way a device's first boot installs one "
                     "(the image bundle: edgefleet and its dependencies only; tools/bench/device_install.py).")

    sizes = sorted(set(args.minions) | (set() if args.skip_salt else set(args.salt_minions)))
    for n in sizes:  # alternate: ours then Salt at each size
        pair: dict[str, dict[str, Any]] = {}
        if n in args.minions:
            load = wait_quiet(args.quiet_load, args.quiet_wait, f"edgefleet N = {n}")
            print(f"== edgefleet, {n} real edge-minions", flush=True)
            row = _section(f"edgefleet N = {n}", notes, ours.run, n, args.repeat, log=_quiet_log,
                           minion_program=minion_program)
            if row is not None:
                pair["ours"] = {**row, "load": load}
                results["ours"].append(pair["ours"])
            save()
        if not args.skip_salt and n in args.salt_minions:
            load = wait_quiet(args.quiet_load, args.quiet_wait, f"Salt N = {n}")
            print(f"== Salt, {n} real salt-minions", flush=True)
            row = _section(f"Salt N = {n}", notes, salt.run, n, args.repeat, log=_quiet_log)
            if row is not None:
                pair["salt"] = {**row, "load": load}
                results["salt"].append(pair["salt"])
            save()
        if len(pair) == 2:
            _print_pair(pair["ours"], pair["salt"])

    if not args.skip_sim:
        from tools.bench import simulated

        for m in args.sim:
            load = wait_quiet(args.quiet_load, args.quiet_wait, f"simulated M = {m}")
            print(f"== simulated fleet, {m} minions in {args.sim_processes} processes", flush=True)
            sim_row = _section(f"simulated M = {m}", notes, simulated.run, m, processes=args.sim_processes,
                               repeat=args.repeat, log=_quiet_log)
            if sim_row is not None:
                results["sim"].append({**sim_row, "load": load})
            save()

    shutil.rmtree(device_dir, ignore_errors=True)
    for section, size in (("ours", "n"), ("salt", "n"), ("sim", "m")):
        results[section].sort(key=lambda r, size=size: int(r[size]))
    save()
    md = report.write(results, args.out)
    for target, verdict, measured in report.targets(results):
        print(f"target: {target}: {verdict.strip('*')} ({measured})", flush=True)
    print(f"report: {md}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
