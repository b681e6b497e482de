"""``sys.*``, ``grains.*`` and ``saltutil.*`` over in-memory fakes of the grain store and job table."""

from __future__ import annotations

import copy
import platform
import sys
import threading
from typing import Any

import pytest

from device_modules.context import DeviceContext, GrainStore, RunningJobs
from device_modules.grains import fallback_grains, traverse
from device_modules.outcome import Outcome, execute
from device_modules.registry import Registry
from device_modules.spec import Availability, ModuleSpec

SOFTWARE = {name: f"device_modules.{name}" for name in ("test", "cmd", "grains", "sys", "saltutil")}


class MemoryGrains:
    """A GrainStore in memory that counts refreshes."""

    def __init__(self, grains: dict[str, Any]) -> None:
        self.grains = copy.deepcopy(grains)
        self.refreshes = 0

    def items(self) -> dict[str, Any]:
        return copy.deepcopy(self.grains)

    def setval(self, key: str, value: Any) -> None:
        self.grains[key] = copy.deepcopy(value)

    def delval(self, key: str) -> None:
        self.grains[key] = None

    def refresh(self) -> dict[str, Any]:
        self.refreshes += 1
        return self.items()


class Jobs:
    """A RunningJobs holding fixed jobs."""

    def __init__(self, *jobs: dict[str, Any]) -> None:
        self.jobs = list(jobs)

    def running(self) -> list[dict[str, Any]]:
        return [dict(j) for j in self.jobs]

    def find(self, jid: str) -> dict[str, Any]:
        return next((dict(j) for j in self.jobs if j["jid"] == jid), {})


GRAINS = {
    "id": "pi-1",
    "os": "Raspbian",
    "ip_interfaces": {"eth0": ["10.0.0.5"], "wlan0": []},
    "disks": [{"name": "mmcblk0", "size": 32}, {"name": "sda"}],
    "roles": ["gateway"],
    "model": "Raspberry Pi 4 Model B",
}

JOB: dict[str, Any] = {"jid": "20240101120000123456", "fun": "test.sleep", "arg": [30], "pid": 4242,
       "tgt": "pi-*", "tgt_type": "glob", "user": "root"}


@pytest.fixture
def store() -> MemoryGrains:
    return MemoryGrains(GRAINS)


@pytest.fixture
def registry(store: MemoryGrains) -> Registry:
    ctx = DeviceContext(minion_id="pi-1", grains=store, jobs=Jobs(JOB))
    return Registry(ctx, SOFTWARE, entry_points=False)


def run(registry: Registry, fun: str, *arg: Any) -> Any:
    out = execute(registry, fun, list(arg))
    assert out.success, out.return_
    return out.return_


def test_fakes_satisfy_the_protocols(store: MemoryGrains) -> None:
    grains: GrainStore = store
    jobs: RunningJobs = Jobs()
    assert grains.items() and jobs.running() == []


# ---- grains --------------------------------------------------------------------------------

def test_items_ls_and_item(registry: Registry) -> None:
    assert run(registry, "grains.items") == GRAINS
    assert run(registry, "grains.ls") == sorted(GRAINS)
    assert run(registry, "grains.item", "os", "ip_interfaces:eth0", "nope") == {
        "os": "Raspbian", "ip_interfaces:eth0": ["10.0.0.5"], "nope": ""}


@pytest.mark.parametrize(("arg", "expected"), [
    (["os"], "Raspbian"),
    (["ip_interfaces:eth0"], ["10.0.0.5"]),
    (["ip_interfaces:eth0:0"], "10.0.0.5"),
    (["disks:1:name"], "sda"),
    (["disks:size"], 32),  # first dict in the list holding the key
    (["ip_interfaces:wlan0"], []),
    (["nope"], ""),
    (["nope", "fallback"], "fallback"),
    (["ip_interfaces:ppp0", {"__kwarg__": True, "default": "[]"}], []),
    (["ip_interfaces/eth0", {"__kwarg__": True, "delimiter": "/"}], ["10.0.0.5"]),
    (["model:x"], ""),
])
def test_get_walks_nested_grains(registry: Registry, arg: list[Any], expected: Any) -> None:
    assert run(registry, "grains.get", *arg) == expected


def test_setval_and_delval_write_through_the_store(registry: Registry, store: MemoryGrains) -> None:
    assert run(registry, "grains.setval", "role", "gateway") == {"role": "gateway"}
    assert run(registry, "grains.setval", "sensors", "[temp, gps]") == {"sensors": ["temp", "gps"]}
    assert run(registry, "grains.setval", "floor", "3") == {"floor": 3}
    assert store.grains["sensors"] == ["temp", "gps"] and store.grains["floor"] == 3
    assert run(registry, "grains.delval", "role") == {"role": None}
    assert store.grains["role"] is None


def test_append_like_salt(registry: Registry, store: MemoryGrains) -> None:
    assert run(registry, "grains.append", "roles", "sensor-hub") == {"roles": ["gateway", "sensor-hub"]}
    assert run(registry, "grains.append", "roles", "gateway") == "The val gateway was already in the list roles"
    assert run(registry, "grains.append", "new", "[a, b]") == {"new": ["a", "b"]}
    assert run(registry, "grains.append", "os", "x") == "The key os is not a valid list"
    converted = run(registry, "grains.append", "os", "x", {"__kwarg__": True, "convert": "True"})
    assert converted == {"os": ["Raspbian", "x"]}
    assert store.grains["roles"] == ["gateway", "sensor-hub"]


def test_concurrent_appends_lose_nothing(registry: Registry, store: MemoryGrains) -> None:
    threads = [threading.Thread(target=run, args=(registry, "grains.append", "tags", f"t{i}")) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(store.grains["tags"]) == sorted(f"t{i}" for i in range(20))


def test_without_a_store_reads_fall_back_and_writes_fail_clearly() -> None:
    registry = Registry(DeviceContext(minion_id="lab-7"), SOFTWARE, entry_points=False)
    grains = run(registry, "grains.items")
    assert grains == fallback_grains("lab-7")
    assert grains["id"] == "lab-7" and grains["kernel"] == platform.system()
    assert grains["pythonversion"][:2] == list(sys.version_info[:2])
    assert run(registry, "grains.get", "id") == "lab-7"
    out = execute(registry, "grains.setval", ["k", "v"])
    assert (out.retcode, out.out) == (1, "nested")
    assert out.return_.startswith("ERROR: grains.setval needs the minion's grain store")
    assert run(registry, "saltutil.refresh_grains") is True


def test_traverse_defaults() -> None:
    assert traverse({"a": {"b": 1}}, "a:b:c", default="d") == "d"
    assert traverse({"a": [1, 2]}, "a:5", default=None) is None
    assert traverse({"a": 1}, "a") == 1


# ---- saltutil ------------------------------------------------------------------------------

def test_find_job_in_salts_shape(registry: Registry) -> None:
    assert run(registry, "saltutil.find_job", JOB["jid"]) == JOB
    assert run(registry, "saltutil.find_job", "20240101120000999999") == {}
    # A stock Salt CLI may send the jid as a number.
    assert run(registry, "saltutil.find_job", int(JOB["jid"])) == JOB


def test_running_and_is_running(registry: Registry) -> None:
    assert run(registry, "saltutil.running") == [JOB]
    assert run(registry, "saltutil.is_running", "test.*") == [JOB]
    assert run(registry, "saltutil.is_running", "cmd.run") == []


def test_refresh_grains_refreshes_the_store(registry: Registry, store: MemoryGrains) -> None:
    assert run(registry, "saltutil.refresh_grains") is True
    assert store.refreshes == 1


# ---- sys -----------------------------------------------------------------------------------

def test_list_functions_and_modules(registry: Registry) -> None:
    functions = run(registry, "sys.list_functions")
    assert "test.ping" in functions and "sys.doc" in functions and functions == sorted(functions)
    assert run(registry, "sys.list_functions", "saltutil") == [
        "saltutil.find_job", "saltutil.is_running", "saltutil.refresh_grains", "saltutil.running"]
    assert run(registry, "sys.list_functions", "cmd.run*", "test.ping") == ["cmd.run", "cmd.run_all", "test.ping"]
    assert run(registry, "sys.list_modules") == ["cmd", "grains", "saltutil", "sys", "test"]
    assert run(registry, "sys.list_modules", "s*") == ["saltutil", "sys"]


def test_doc(registry: Registry) -> None:
    docs = run(registry, "sys.doc", "test.ping", "cmd")
    assert list(docs) == ["cmd.retcode", "cmd.run", "cmd.run_all", "cmd.shell", "test.ping"]
    assert all("CLI Example:" in text for text in docs.values())
    every = run(registry, "sys.doc")
    assert set(every) == set(run(registry, "sys.list_functions"))
    missing = [fun for fun, text in every.items() if "CLI Example:" not in text]
    assert missing == [], "every software function documents a CLI example"
    assert run(registry, "sys.doc", "nosuch") == {}


def test_list_unavailable_gives_reasons(store: MemoryGrains) -> None:
    spec = ModuleSpec(name="obd", functions={"query": lambda ctx: 1},
                      available=lambda ctx: Availability.no("python-can not installed"))
    ctx = DeviceContext(minion_id="pi-1", grains=store)
    registry = Registry(ctx, {**SOFTWARE, "obd": spec, "gone": "device_modules.gone"}, entry_points=False)
    unavailable = run(registry, "sys.list_unavailable")
    assert unavailable["obd"] == "python-can not installed"
    assert "No module named 'device_modules.gone'" in unavailable["gone"]
    assert "obd.query" not in run(registry, "sys.list_functions")


def test_sys_without_a_registry_in_ctx_is_unavailable() -> None:
    ctx = DeviceContext(minion_id="pi-1")
    registry = Registry(ctx, SOFTWARE, entry_points=False)
    del ctx.extra["registry"]
    assert execute(registry, "sys.list_modules", []) == Outcome(
        "'sys.list_modules' is not available. (no registry in ctx.extra['registry'])", 1, False, "nested")
