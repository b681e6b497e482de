"""``collect``: every source on the real machine, a failing source isolated, no process spawned."""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path
from typing import Any

import msgpack
import pytest

import edge_minion.grains
from edge_minion.grains import collect
from edge_minion.grains.collect import run_sources, sources
from tests.unit.test_grains_trees import pi4b

REQUIRED = ("id", "host", "fqdn", "nodename", "os", "os_family", "osrelease", "oscodename", "osfullname",
            "kernel", "kernelrelease", "cpuarch", "cpu_model", "num_cpus", "mem_total", "ipv4", "ipv6",
            "hwaddr_interfaces", "machine_id", "pythonversion", "edgefleet_version")

SPAWN_EVENTS = frozenset({"subprocess.Popen", "os.system", "os.posix_spawn", "os.spawn", "os.fork",
                          "os.forkpty", "os.exec", "pty.spawn"})


class SpawnWatch:
    """Records process-creating audit events while armed (audit hooks cannot be removed, so it is shared)."""

    def __init__(self) -> None:
        self.armed = False
        self.events: list[str] = []
        sys.addaudithook(self)

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if self.armed and event in SPAWN_EVENTS:
            self.events.append(event)


_WATCH: list[SpawnWatch] = []


def spawn_watch() -> SpawnWatch:
    if not _WATCH:
        _WATCH.append(SpawnWatch())
    return _WATCH[0]


def test_the_real_machine_yields_every_required_grain() -> None:
    grains = collect("minion-1")
    has_machine_id = Path("/etc/machine-id").exists() or Path("/var/lib/dbus/machine-id").exists()
    missing = [key for key in REQUIRED if key not in grains and (key != "machine_id" or has_machine_id)]
    assert missing == []
    assert grains["id"] == "minion-1"
    assert grains["num_cpus"] >= 1 and grains["mem_total"] > 0
    assert "127.0.0.1" in grains["ipv4"]
    assert isinstance(grains["is_raspberry_pi"], bool)


def test_grains_travel_as_msgpack() -> None:
    grains = collect("minion-1")
    assert msgpack.unpackb(msgpack.packb(grains), strict_map_key=False) == grains


def test_collect_spawns_no_process() -> None:
    watch = spawn_watch()
    watch.armed = True
    try:
        collect("minion-1")
    finally:
        watch.armed = False
    assert watch.events == []


def test_the_grains_package_has_no_process_spawning_call() -> None:
    package = Path(edge_minion.grains.__file__).parent
    pattern = re.compile(r"\bsubprocess\b|os\.(system|popen|fork|exec\w*|spawn\w*|posix_spawn\w*)\b|\bpty\b")
    offenders = [f"{path.name}:{n}" for path in sorted(package.glob("*.py"))
                 for n, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []


def test_a_failing_source_is_logged_and_the_others_still_count(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> dict[str, Any]:
        raise PermissionError("/proc/cpuinfo: permission denied")

    named = [("first", lambda: {"a": 1}), ("cpu", broken), ("last", lambda: {"b": 2})]
    with caplog.at_level(logging.WARNING, logger="edge_minion.grains.collect"):
        grains = run_sources("m1", named)
    assert grains == {"is_raspberry_pi": False, "a": 1, "b": 2, "id": "m1"}
    assert "'cpu' failed" in caplog.text and "PermissionError" in caplog.text


def test_later_sources_lay_over_earlier_ones_and_id_is_the_minions() -> None:
    grains = run_sources("m1", [("a", lambda: {"x": 1, "id": "spoof"}), ("b", lambda: {"x": 2})])
    assert grains["x"] == 2 and grains["id"] == "m1"


def test_a_fake_root_moves_the_file_grains_only(tmp_path: Path) -> None:
    grains = collect("pi-1", pi4b(tmp_path).root)
    assert grains["board"]["board_type"] == "4B"
    assert grains["machine_id"] == "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    assert grains["is_raspberry_pi"] is True
    assert "127.0.0.1" in grains["ipv4"]  # addresses are still this machine's


def test_an_empty_root_loses_its_file_grains_but_not_the_rest(tmp_path: Path) -> None:
    grains = collect("m1", tmp_path)
    assert "os" not in grains and "mem_total" not in grains and "cpu_model" not in grains
    assert {"kernel", "ipv4", "pythonversion", "fqdn"} <= set(grains)


def test_every_source_is_named_once() -> None:
    names = [name for name, _ in sources()]
    assert len(names) == len(set(names))
    assert {"os_release", "kernel", "cpu", "memory", "hostname", "network", "machine", "python",
            "board"} == set(names)


def test_the_package_exports_what_it_lists() -> None:
    assert sorted(edge_minion.grains.__all__) == ["Grains", "collect"]
    assert all(hasattr(edge_minion.grains, name) for name in edge_minion.grains.__all__)
