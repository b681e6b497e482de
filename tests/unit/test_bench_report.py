"""The benchmark report writer, fed synthetic figures: Markdown content and a PNG on disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tools.bench import report
from tools.bench.main import parse_args


def _real(n: int, ping: float, rss: float, storm: float) -> dict[str, Any]:
    return {"n": n, "complete": True, "ping_cli_s": ping, "grain_cli_s": ping * 0.8,
            "publish_to_last_return_s": ping / 5, "master_rss_mib": 40.0, "master_cpu_s": 3.0,
            "master_cpu_per_call_s": 0.05, "minion_rss_idle_mib": rss, "minion_pss_idle_mib": rss * 0.6,
            "minion_rss_after_100_jobs_mib": rss + 1, "minion_start_to_ready_s": 0.5, "all_ready_s": 3.0,
            "restart_all_answer_s": storm, "restart_answered": n}


def _results() -> dict[str, Any]:
    return {
        "meta": {"date": "2026-11-23 08:00 UTC", "uname": "Linux box 6.1 x86_64", "cpu": "Test CPU", "cores": 2,
                 "ram_gib": 23.4, "python": "3.11.9", "salt_version": "salt-master 3008.5", "commit": "abc123",
                 "command": "tools/bench/run --quick", "salt_reference_100_s": 15.3},
        "ours": [_real(10, 0.3, 30.0, 2.0) | {"load": 0.5}, _real(100, 0.9, 31.0, 5.0),
                 _real(200, 1.5, 33.0, 20.0) | {"load": 3.1}],
        "salt": [_real(10, 1.5, 76.0, 13.0), _real(100, 15.0, 117.0, 60.0)],
        "sim": [{"m": 1000, "publish_to_all_returns_s": 0.2, "answered": 1000, "returns_per_s": 5000.0,
                 "master_cpu_s_per_round": 0.4, "master_rss_mib": 90.0, "fleet_setup_s": 12.0},
                {"m": 10000, "publish_to_all_returns_s": 2.5, "answered": 9990, "returns_per_s": 4000.0,
                 "master_cpu_s_per_round": 3.0, "master_rss_mib": 400.0, "fleet_setup_s": 120.0}],
        "notes": ["a note from the run"],
    }


def test_write_makes_markdown_and_png(tmp_path: Path) -> None:
    md = report.write(_results(), tmp_path, log=lambda _: None)
    text = md.read_text()
    png = tmp_path / "latency.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![latency against fleet size](latency.png)" in text
    for fact in ("2026-11-23 08:00 UTC", "Linux box 6.1 x86_64", "Test CPU", "2 cores", "23.4 GiB", "3.11.9",
                 "salt-master 3008.5", "`abc123`", "a note from the run",
                 "1-minute load average as each section began: ours 10: 0.50, ours 200: 3.10. "
                 "Above the 2 cores before ours 200"):
        assert fact in text
    # ours / Salt cells with the ratio
    assert "| `* test.ping`, CLI start to exit (s, median) | 0.30 / 1.50 (0.20) | 0.90 / 15.00 (0.06) | 1.50 / n/a |" \
        in text
    assert "| 10,000 | 9990 | 2.500 | 4000 |" in text


def test_targets_state_met_and_missed_plainly() -> None:
    verdicts = {t: (v, m) for t, v, m in report.targets(_results())}
    assert verdicts[report.TARGETS_TEXT[0]][0] == "**met**"  # 15.0 / 0.9 = 16.7x
    assert "16.7x" in verdicts[report.TARGETS_TEXT[0]][1]
    assert verdicts[report.TARGETS_TEXT[1]][0] == "**met**"  # 33 MiB = 34.6 MB
    assert verdicts[report.TARGETS_TEXT[2]][0] == "**missed**"
    assert verdicts[report.TARGETS_TEXT[3]][0] == "**missed**"


def test_targets_not_measured_without_the_runs(tmp_path: Path) -> None:
    results = {"meta": {"salt_reference_100_s": 15.3}, "ours": [_real(10, 0.3, 50.0, 2.0)], "salt": [], "sim": []}
    verdicts = [v for _, v, _ in report.targets(results)]
    assert verdicts == ["not measured", "**missed**", "not measured", "not measured"]
    report.write(results, tmp_path, log=lambda _: None)  # an empty section still renders and plots
    assert (tmp_path / "latency.png").stat().st_size > 0


def test_salt_sizes_default_to_ours_capped_at_100() -> None:
    assert parse_args([]).salt_minions == [10, 50, 100]
    assert parse_args(["--minions", "10,200", "--salt-minions", "200"]).salt_minions == [200]
    quick = parse_args(["--quick"])
    assert (quick.minions, quick.salt_minions, quick.sim, quick.repeat) == ([10], [10], [1000], 2)


def test_a_run_without_load_figures_says_so() -> None:
    results = _results()
    for row in results["ours"]:
        row.pop("load", None)
    assert "- load average: not recorded" in report.render(results)
