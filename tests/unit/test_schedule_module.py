"""``schedule.*`` through the real registry, with command-line words as ``fleet-call`` gets them."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from device_modules.args import parse_cli_args
from device_modules.context import DeviceContext
from device_modules.outcome import Outcome, execute
from device_modules.registry import Registry
from edge_minion.schedule import Scheduler, open_book


def registry(tmp_path: Path, scheduler: Any = None) -> Registry:
    ctx = DeviceContext(minion_id="car-1", state_dir=tmp_path)
    ctx.extra["scheduler"] = scheduler if scheduler is not None else open_book(tmp_path, {
        "battery": {"function": "power.status", "minutes": 1}})
    return Registry(ctx, modules={"schedule": "device_modules.schedule"}, entry_points=False)


def call(reg: Registry, *words: str) -> Outcome:
    fun, *rest = words
    return execute(reg, fun, parse_cli_args(rest))


def test_fleet_call_manages_the_stored_schedule(tmp_path: Path) -> None:
    reg = registry(tmp_path)
    out = call(reg, "schedule.add", "log_speed", "function=obd.query", "job_args=[SPEED]", "seconds=2",
               "condition={function: obd.query, args: [RPM], key: value, above: 0}")
    assert out.success, out.return_
    assert out.return_["comment"] == "Added job: log_speed to schedule."
    assert out.return_["job"]["condition"] == [{"function": "obd.query", "args": ["RPM"], "key": "value", "above": 0}]
    out = call(reg, "schedule.modify", "log_speed", "cron=*/5 * * * *", "remove=[condition]")
    assert out.success and out.return_["changes"]["log_speed"]["new"] == {
        "function": "obd.query", "args": ["SPEED"], "cron": "*/5 * * * *"}
    assert call(reg, "schedule.disable_job", "log_speed").success
    assert call(reg, "schedule.disable").success
    listing = call(reg, "schedule.list").return_
    assert listing["enabled"] is False
    assert listing["entries"]["log_speed"]["enabled"] is False
    assert listing["entries"]["battery"]["source"] == "config"
    assert open_book(tmp_path).get("log_speed").cron is not None, "changes are on disk for the minion"
    assert call(reg, "schedule.enable").success and call(reg, "schedule.enable_job", "log_speed").success
    out = call(reg, "schedule.run_job", "log_speed")
    assert out.success and "queued" in out.return_["comment"]
    assert call(reg, "schedule.delete", "log_speed").return_["changes"] == {"log_speed": "removed"}


def test_errors_are_error_returns(tmp_path: Path) -> None:
    reg = registry(tmp_path)
    out = call(reg, "schedule.add", "x", "function=test.ping", "seconds=0")
    assert not out.success and out.retcode == 1 and "at least 1 s" in out.return_
    out = call(reg, "schedule.add", "x", "function=test.ping", "seconds=5", "cron=* * * * *")
    assert not out.success and "exactly one of" in out.return_
    out = call(reg, "schedule.delete", "nope")
    assert not out.success and "no schedule entry named 'nope'" in out.return_
    out = call(reg, "schedule.modify", "battery", "minutes=5")
    assert not out.success and "minion config file" in out.return_
    out = call(reg, "schedule.add", "x", "function=test.ping", "seconds=soon")
    assert not out.success and "seconds" in out.return_


def test_without_a_scheduler_the_module_is_unavailable(tmp_path: Path) -> None:
    ctx = DeviceContext(minion_id="car-1", state_dir=tmp_path)
    reg = Registry(ctx, modules={"schedule": "device_modules.schedule"}, entry_points=False)
    assert "no scheduler" in reg.unavailable()["schedule"]


def test_inside_the_minion_run_job_answers_with_the_jid(tmp_path: Path) -> None:
    submitted: list[dict[str, Any]] = []

    def submit(load: dict[str, Any]) -> None:
        submitted.append(load)

    sched = Scheduler("car-1", open_book(tmp_path), submit, lambda *a: None, poll=0.01)
    reg = registry(tmp_path, sched)

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.ensure_future(sched.run(stop))
        await asyncio.sleep(0.05)
        out = await asyncio.to_thread(call, reg, "schedule.add", "ping", "function=test.ping", "hours=1")
        assert out.success, out.return_
        out = await asyncio.to_thread(call, reg, "schedule.run_job", "ping")
        assert out.success and out.return_["jid"] == submitted[0]["jid"]
        listing = (await asyncio.to_thread(call, reg, "schedule.list")).return_
        assert listing["entries"]["ping"]["status"]["runs"] == 1
        stop.set()
        await task

    asyncio.run(main())
