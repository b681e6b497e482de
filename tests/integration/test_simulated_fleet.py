"""The fleet simulator (tools/sim) against a real cloud-master, through the real ``fleet`` CLI.

The benchmark's 10,000-minion figures rest on the simulator speaking the
protocol faithfully: every simulated minion signs in with its own key,
answers on its own sockets, and signs in again when the master restarts with
a new AES key (rather than borrowing what a neighbour in its process opened).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from tests.fleet_harness import Master
from tools.sim.keys import ensure_keys, minion_id, preseed

COUNT = 30
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("simkeys")
    ensure_keys(directory, COUNT)
    return directory


def _follow(stream: IO[str], stats: dict[str, int]) -> None:
    for line in stream:
        try:
            stats.update({k: v for k, v in json.loads(line).items() if isinstance(v, int)})
        except json.JSONDecodeError:
            continue


@pytest.fixture
def fleet(keys: Path) -> Iterator[tuple[Master, dict[str, int]]]:
    master = Master(config={"presence_timeout": 3600})
    preseed(keys, COUNT, master.state_dir)
    master.start()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tools.sim.fleet", "--port", str(master.ret_port), "--count", str(COUNT),
         "--keys", str(keys), "--stats-every", "0.2", "--reauth-delay", "0.5"],
        stdout=subprocess.PIPE, text=True, cwd=REPO)
    stats: dict[str, int] = {}
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        assert ready["event"] == "ready" and ready["count"] == COUNT
        threading.Thread(target=_follow, args=(proc.stdout, stats), daemon=True).start()
        master.wait_connected(COUNT)
        yield master, stats
    finally:
        proc.terminate()
        proc.wait(10)
        master.cleanup()


def _ping(master: Master) -> dict[str, object]:
    proc = master.fleet("*", "test.ping", "--out", "json", "-t", "10")
    return dict(json.loads(proc.stdout or "{}"))


def test_every_simulated_minion_answers_through_the_fleet_cli(fleet) -> None:  # type: ignore[no-untyped-def]
    master, stats = fleet
    answers = _ping(master)
    assert answers == {minion_id(i): True for i in range(COUNT)}
    proc = master.fleet("-L", f"{minion_id(3)},{minion_id(7)}", "test.echo", "hello", "--out", "json")
    assert json.loads(proc.stdout) == {minion_id(3): "hello", minion_id(7): "hello"}


def test_after_a_master_restart_each_simulated_minion_signs_in_again(fleet) -> None:  # type: ignore[no-untyped-def]
    master, stats = fleet
    assert _ping(master) == {minion_id(i): True for i in range(COUNT)}
    time.sleep(0.5)
    auths_before = stats["auths"]
    master.stop(signal.SIGKILL)
    master.start()
    answered: dict[str, object] = {}
    end = time.monotonic() + 60
    while len(answered) < COUNT and time.monotonic() < end:
        answered = {k: v for k, v in _ping(master).items() if v is True}
    assert len(answered) == COUNT, f"{COUNT - len(answered)} simulated minions never answered again"
    time.sleep(0.5)
    assert stats["auths"] - auths_before == COUNT  # each one, none borrowing a neighbour's opened publish
    assert stats["return_errors"] == 0
