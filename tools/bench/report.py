"""Write the benchmark figures as ``RESULTS.md`` plus ``latency.png`` (latency against fleet size).

:func:`write` takes the dictionary ``tools.bench.main`` builds: ``meta`` (machine and run
facts), ``ours`` and ``salt`` (one dict per fleet size from ``ours.run`` / ``salt.run``),
``sim`` (one dict per simulated fleet size from ``simulated.run``) and ``notes`` (strings).
Figures only; the targets are stated as met, missed or not measured.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tools.bench.common import fmt

__all__ = ["METHOD", "REAL_FIGURES", "TARGETS_TEXT", "plot", "ratio", "render", "targets", "write"]

Row = dict[str, Any]

#: (key, label, digits) for the real-process table, in print order.
REAL_FIGURES: tuple[tuple[str, str, int], ...] = (
    ("ping_cli_s", "`* test.ping`, CLI start to exit (s, median)", 2),
    ("grain_cli_s", "`-G role:car test.ping`, CLI start to exit (s, median)", 2),
    ("publish_to_last_return_s", "publish to last return at the master (s, median)", 3),
    ("master_cpu_per_call_s", "master CPU per CLI call (s)", 3),
    ("master_cpu_s", "master CPU since start (s)", 1),
    ("master_rss_mib", "master RSS, all processes (MiB)", 0),
    ("minion_rss_idle_mib", "minion RSS idle (MiB, median)", 1),
    ("minion_pss_idle_mib", "minion PSS idle (MiB, median)", 1),
    ("minion_rss_after_100_jobs_mib", "minion RSS after 100 jobs (MiB, median)", 1),
    ("minion_start_to_ready_s", "one minion start to ready (s, median of 3)", 2),
    ("all_ready_s", "whole fleet start to ready (s)", 1),
    ("restart_all_answer_s", "master killed and restarted: all answer again (s)", 1),
)

TARGETS_TEXT = (
    "100 real minions: `fleet '*' test.ping` at least 10x faster end to end than `salt '*' test.ping`",
    "edge-minion idle RSS at most 35 MB",
    "10,000 simulated minions all answered within 2 s of the publish",
    "200 real minions answering again within 15 s of a master restart",
)


METHOD = (
    "CLI times: wall clock from spawning `fleet --out json '*' test.ping` (or `salt -c DIR '*' test.ping --out json`, "
    "without `--static`, as users run it) to its exit; median of the repeats.",
    "Publish to last return: ours from the job's `created` to the newest `received` in the master's job cache; "
    "Salt from the jid's timestamp to the newest `return.p` mtime in the master's local job cache.",
    "Master CPU per call: CPU seconds of the master and its children during the timed calls, divided by the calls. "
    "Master RSS sums the master's processes (Salt's master runs about 15; shared pages count more than once).",
    "Minion RSS and PSS: each minion process, median over the fleet; \"after 100 jobs\" follows 100 `test.ping` "
    "publishes to `*` sent without waiting (ours through the control socket, Salt through `LocalClient.cmd_async`).",
    "Start to ready: one minion restarted three times with the fleet idle, from spawn to its ready log line.",
    "Restart: SIGKILL to the master's process group, then a start on the same state and ports; time from the kill "
    "until one `'*' test.ping -t 3` round gets every answer (gather-job timeout 2 s on both sides). Includes the "
    "master's own start-up and the CLI round.",
    "Simulated fleet: M minions in 4 processes, each minion with its own key, REQ and SUB sockets, all on the "
    "same 2 cores as the master. A process opens each publish frame once for all its minions holding the same "
    "AES key (each device would do that on its own CPU; after a master restart each minion fails with its old "
    "key and signs in again itself); every minion still encrypts and sends its own return. Latency runs from the "
    "master's own stamp just after its publish send to the last return reaching the CLI. Master CPU and RSS "
    "include its publish daemon.",
    "Salt: salt-master with stock `worker_threads: 5`; single-process salt-minions (`multiprocessing: False`, "
    "`--disable-keepalive`) with keys preseeded, launched ten at a time, each batch waited for.",
)


def ratio(ours: float, salt: float) -> float:
    """ours / Salt, NaN when either is missing or Salt's is zero."""
    if ours != ours or salt != salt or salt == 0:
        return float("nan")
    return ours / salt


def _by_size(rows: Sequence[Row], key: str) -> dict[int, Row]:
    return {int(r[key]): r for r in rows}


def _num(row: Row | None, key: str) -> float:
    value = None if row is None else row.get(key)
    return float(value) if isinstance(value, int | float) else float("nan")


def _real_table(ours: Sequence[Row], salt: Sequence[Row]) -> list[str]:
    o, s = _by_size(ours, "n"), _by_size(salt, "n")
    sizes = sorted(o.keys() | s.keys())
    lines = ["| figure | " + " | ".join(f"N = {n}: ours / Salt (ours/Salt)" for n in sizes) + " |",
             "|---|" + "---|" * len(sizes)]
    for key, label, digits in REAL_FIGURES:
        cells = []
        for n in sizes:
            a, b = _num(o.get(n), key), _num(s.get(n), key)
            r = ratio(a, b)
            cells.append(f"{fmt(a, digits)} / {fmt(b, digits)}" + ("" if r != r else f" ({r:.2f})"))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    cells = []
    for n in sizes:
        parts = []
        for name, rows in (("ours", o), ("Salt", s)):
            row = rows.get(n)
            if row is not None:
                parts.append(f"{name} {'all' if row.get('complete') else 'NOT all'}, "
                             f"{row.get('restart_answered', '?')}/{n} after restart")
        cells.append("; ".join(parts) or "n/a")
    lines.append("| every minion answered every call; answered after restart | " + " | ".join(cells) + " |")
    return lines


def _sim_table(sim: Sequence[Row]) -> list[str]:
    lines = ["| simulated minions M | answered (fewest of the rounds) | publish to all returns (s, median) "
             "| returns per second | master CPU per round (s) | master RSS (MiB) | fleet sign-in (s) |",
             "|---|---|---|---|---|---|---|"]
    for r in sorted(sim, key=lambda r: int(r["m"])):
        lines.append(f"| {int(r['m']):,} | {r.get('answered', 'n/a')} | {fmt(_num(r, 'publish_to_all_returns_s'), 3)} "
                     f"| {fmt(_num(r, 'returns_per_s'), 0)} | {fmt(_num(r, 'master_cpu_s_per_round'), 2)} "
                     f"| {fmt(_num(r, 'master_rss_mib'), 0)} | {fmt(_num(r, 'fleet_setup_s'), 1)} |")
    return lines


def _verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else ("**met**" if ok else "**missed**")


def targets(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(target, verdict, measured) for each of :data:`TARGETS_TEXT`."""
    o, s = _by_size(results.get("ours", []), "n"), _by_size(results.get("salt", []), "n")
    sim = _by_size(results.get("sim", []), "m")
    out: list[tuple[str, str, str]] = []

    ours100, salt100 = _num(o.get(100), "ping_cli_s"), _num(s.get(100), "ping_cli_s")
    if ours100 == ours100 and salt100 == salt100:
        speedup = salt100 / ours100
        out.append((TARGETS_TEXT[0], _verdict(speedup >= 10),
                    f"ours {ours100:.2f} s, Salt {salt100:.2f} s: {speedup:.1f}x faster"))
    else:
        ref = results.get("meta", {}).get("salt_reference_100_s")
        extra = (f"; against Salt's {ref} s measured earlier on this machine (SALT-PROTOCOL.md §10) "
                 f"that would be {ref / ours100:.1f}x" if ref and ours100 == ours100 else "")
        out.append((TARGETS_TEXT[0], _verdict(None),
                    f"ours {fmt(ours100)} s, Salt not run at N = 100{extra}"))

    idle = [(n, _num(r, "minion_rss_idle_mib")) for n, r in sorted(o.items())]
    idle = [(n, v) for n, v in idle if v == v]
    if idle:
        worst = max(v for _, v in idle)
        mb = worst * 2**20 / 1e6
        out.append((TARGETS_TEXT[1], _verdict(mb <= 35),
                    "median per fleet size: " + ", ".join(f"N = {n}: {v:.1f} MiB" for n, v in idle)
                    + f" (worst {mb:.1f} MB)"))
    else:
        out.append((TARGETS_TEXT[1], _verdict(None), "no real-minion run"))

    r10k = sim.get(10000)
    if r10k is not None:
        lat, answered = _num(r10k, "publish_to_all_returns_s"), int(r10k.get("answered", 0))
        out.append((TARGETS_TEXT[2], _verdict(answered == 10000 and lat <= 2),
                    f"{answered:,} of 10,000 answered, last return {fmt(lat, 3)} s after the publish"))
    else:
        out.append((TARGETS_TEXT[2], _verdict(None), "M = 10,000 not run"))

    r200 = o.get(200)
    if r200 is not None:
        storm = _num(r200, "restart_all_answer_s")
        out.append((TARGETS_TEXT[3], _verdict(storm == storm and storm <= 15),
                    f"{r200.get('restart_answered')}/200 answered, after {fmt(storm, 1)} s"))
    else:
        out.append((TARGETS_TEXT[3], _verdict(None), "N = 200 not run"))
    return out


def _load_line(results: dict[str, Any]) -> str:
    """The 1-minute load average as each section began, from the rows themselves."""
    loads = [(kind, r.get("n", r.get("m")), float(r["load"])) for kind in ("ours", "salt", "sim")
             for r in results.get(kind, []) if isinstance(r.get("load"), int | float)]
    if not loads:
        return "- load average: not recorded"
    line = "- 1-minute load average as each section began: " + ", ".join(f"{k} {n}: {v:.2f}" for k, n, v in loads)
    cores = results.get("meta", {}).get("cores") or 1
    busy = [f"{k} {n}" for k, n, v in loads if v > cores]
    if busy:
        line += (f". Above the {cores} cores before {', '.join(busy)}: the previous section's fleet was still "
                 "shutting down (the wait for a quiet machine gives up after --quiet-wait s), so those may read slower")
    return line


def render(results: dict[str, Any], png_name: str = "latency.png") -> str:
    """The Markdown text of RESULTS.md."""
    meta: dict[str, Any] = results.get("meta", {})
    lines = ["# edgefleet benchmark results", "",
             "Measured output of `tools/bench/run` (see README); regenerate rather than edit.", "",
             "## Run", "",
             f"- date: {meta.get('date', 'n/a')}",
             f"- command: `{meta.get('command', 'n/a')}`",
             f"- machine: `{meta.get('uname', 'n/a')}`",
             f"- CPU: {meta.get('cpu', 'n/a')}, {meta.get('cores', 'n/a')} cores, "
             f"RAM {meta.get('ram_gib', 'n/a')} GiB",
             f"- Python {meta.get('python', 'n/a')}, Salt {meta.get('salt_version', 'n/a')}",
             f"- commit: `{meta.get('commit', 'n/a')}`",
             _load_line(results), ""]
    for note in results.get("notes", []):
        lines.append(f"- {note}")
    lines += ["", "## Targets", "", "| target | verdict | measured |", "|---|---|---|"]
    lines += [f"| {t} | {v} | {m} |" for t, v, m in targets(results)]
    if results.get("ours") or results.get("salt"):
        lines += ["", "## Real processes: cloud-master + N edge-minion vs salt-master + N salt-minion", "",
                  "Ids `car-NNNN`, odd ones with grain `role: car`, keys preseeded as accepted. Ours and Salt "
                  "run alternately, one fleet size at a time. Cells: ours / Salt (ours/Salt ratio; below 1 "
                  "means ours is smaller or faster).", ""]
        lines += _real_table(results.get("ours", []), results.get("salt", []))
    if results.get("sim"):
        lines += ["", "## Simulated fleet: M minions in a few processes against one cloud-master", "",
                  "Each simulated minion has its own RSA key and ZeroMQ sockets and speaks the real protocol "
                  "through `MinionSession`; `test.ping` published to `*` through the master's control socket.", ""]
        lines += _sim_table(results["sim"])
    lines += ["", "## How the figures are taken", ""] + [f"- {m}" for m in METHOD]
    lines += ["", "## Latency against fleet size", "", f"![latency against fleet size]({png_name})", ""]
    return "\n".join(lines)


def _series(rows: Sequence[Row], size: str, key: str) -> tuple[list[int], list[float]]:
    pts = sorted((int(r[size]), _num(r, key)) for r in rows)
    pts = [(x, y) for x, y in pts if y == y and y > 0]
    return [x for x, _ in pts], [y for _, y in pts]


def plot(results: dict[str, Any], path: Path) -> None:
    """Latency against fleet size, log-log: CLI end to end and publish to last return, ours vs Salt."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=100)
    curves: tuple[tuple[str, str, str, str, str], ...] = (
        ("ours", "n", "ping_cli_s", "edgefleet: fleet '*' test.ping (CLI start to exit)", "o-"),
        ("salt", "n", "ping_cli_s", "Salt: salt '*' test.ping (CLI start to exit)", "s-"),
        ("ours", "n", "publish_to_last_return_s", "edgefleet: publish to last return", "o--"),
        ("salt", "n", "publish_to_last_return_s", "Salt: publish to last return", "s--"),
        ("sim", "m", "publish_to_all_returns_s", "edgefleet, simulated minions: publish to all returns", "^-"),
    )
    drawn = 0
    for section, size, key, label, style in curves:
        xs, ys = _series(results.get(section, []), size, key)
        if xs:
            ax.plot(xs, ys, style, label=label)
            drawn += 1
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("fleet size (minions)")
    ax.set_ylabel("seconds")
    cores = results.get("meta", {}).get("cores", "?")
    ax.set_title(f"test.ping latency against fleet size ({cores}-core machine, all on the same cores)")
    ax.grid(True, which="both", alpha=0.3)
    if drawn:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write(results: dict[str, Any], out_dir: Path, log: Callable[[str], Any] = print) -> Path:
    """Write ``RESULTS.md`` and ``latency.png`` into ``out_dir``; returns the Markdown path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    png = out_dir / "latency.png"
    plot(results, png)
    md = out_dir / "RESULTS.md"
    md.write_text(render(results, png.name))
    log(f"wrote {md} and {png}")
    return md

