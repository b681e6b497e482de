"""The live scheduler on a real event loop and real files, with a hand-moved clock and a fake inbox."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cloud_master.jid import is_jid, jid_to_time
from edge_minion.schedule import Clock, Scheduler, finish_return, open_book
from edge_minion.schedule.runs import META_KEY

WALL0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC).timestamp()


class FakeClock(Clock):
    def __init__(self) -> None:
        self.now_wall, self.now_mono = WALL0, 500.0

    def wall(self) -> float:
        return self.now_wall

    def mono(self) -> float:
        return self.now_mono

    def boot_id(self) -> str:
        return "boot-test"

    def advance(self, seconds: float) -> None:
        self.now_wall += seconds
        self.now_mono += seconds


class FakeInbox:
    """``submit`` as the minion does it: a jid seen before does not run again."""

    def __init__(self, hold: bool = False) -> None:
        self.seen: set[str] = set()
        self.loads: list[dict[str, Any]] = []
        self.hold = hold
        self.futures: list[Future[None]] = []
        self.entered = threading.Event()
        self.release = threading.Event()

    def submit(self, load: dict[str, Any]) -> Future[None] | None:
        if load["jid"] in self.seen:
            return None
        self.seen.add(load["jid"])
        self.loads.append(load)
        future: Future[None] = Future()
        if not self.hold:
            future.set_result(None)
        self.futures.append(future)
        return future


async def until(pred: Callable[[], bool], timeout: float = 5.0) -> None:
    end = asyncio.get_running_loop().time() + timeout
    while not pred():
        if asyncio.get_running_loop().time() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


async def planned(sched: Scheduler, *names: str) -> None:
    """Wait for the loop's first plan of ``names``: moving the clock before it would move the plan."""
    await until(lambda: all(n in sched.state.entries and sched.state.entries[n].next_at is not None for n in names))


async def idle(sched: Scheduler) -> None:
    """Wait until no run is in progress, so the next slot is not skipped as busy (maxrunning 1)."""
    await until(lambda: not any(sched._running.values()))


def scheduler(tmp_path: Path, inbox: FakeInbox, clock: FakeClock, config: dict[str, Any] | None = None,
              call: Callable[[str, list[Any], dict[str, Any]], Any] | None = None) -> Scheduler:
    def no_call(fun: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        raise AssertionError("no condition expected")

    return Scheduler("car-1", open_book(tmp_path, config), inbox.submit, call or no_call, clock=clock, tz=UTC,
                     poll=0.01)


def run(sched: Scheduler, body: Callable[[], Awaitable[None]]) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.ensure_future(sched.run(stop))
        try:
            await body()
        finally:
            stop.set()
            await asyncio.wait_for(task, 5)

    asyncio.run(main())


SPEED = {"log_speed": {"function": "obd.query", "args": ["SPEED"], "kwargs": {"unit": "kph"}, "seconds": 2}}


def test_each_run_has_its_own_jid_with_the_device_time(tmp_path: Path) -> None:
    clock, inbox = FakeClock(), FakeInbox()
    sched = scheduler(tmp_path, inbox, clock, SPEED)

    async def body() -> None:
        await planned(sched, "log_speed")
        for count in range(1, 4):
            clock.advance(2)
            await until(lambda: len(inbox.loads) == count)  # noqa: B023 - awaited before count changes
            await idle(sched)

    run(sched, body)
    jids = [load["jid"] for load in inbox.loads]
    assert len(set(jids)) == 3 and all(is_jid(j) for j in jids)
    assert [j.split("_")[1] for j in jids] == ["1", "2", "3"]
    assert [jid_to_time(j).replace(tzinfo=UTC).timestamp() for j in jids] == [WALL0 + 2, WALL0 + 4, WALL0 + 6]
    load = inbox.loads[0]
    assert load["fun"] == "obd.query" and load["arg"] == ["SPEED", {"__kwarg__": True, "unit": "kph"}]
    ret = finish_return({"jid": load["jid"], "return": 42, "_stamp": "later", "metadata": load["metadata"]})
    assert ret["schedule"] == "log_speed" and ret["_stamp"] == "2026-11-23T12:00:02"
    assert load["metadata"][META_KEY]["seq"] == 1
    assert sched.listing()["entries"]["log_speed"]["status"]["runs"] == 3


def test_sequence_numbers_continue_after_a_restart(tmp_path: Path) -> None:
    clock, inbox = FakeClock(), FakeInbox()

    for _ in range(2):
        sched = scheduler(tmp_path, inbox, clock, SPEED)

        async def one_run(sched: Scheduler = sched) -> None:
            await planned(sched, "log_speed")
            clock.advance(2)
            count = len(inbox.loads)
            await until(lambda: len(inbox.loads) == count + 1)

        run(sched, one_run)
        clock.advance(1)
    assert [load["metadata"][META_KEY]["seq"] for load in inbox.loads] == [1, 2]


def test_a_run_decided_before_a_power_cut_runs_once_after_it(tmp_path: Path) -> None:
    """Copy the state directory while a run is being handed over (as a power cut would leave it):
    the copy submits the same jid again; an inbox that had it does not run it twice."""
    clock = FakeClock()
    inbox = FakeInbox()
    gate = threading.Event()
    entered = threading.Event()

    def slow_submit(load: dict[str, Any]) -> Future[None] | None:
        entered.set()
        gate.wait(5)
        return inbox.submit(load)

    sched = Scheduler("car-1", open_book(tmp_path, SPEED), slow_submit, lambda *a: None, clock=clock, tz=UTC,
                      poll=0.01)
    cut = tmp_path.parent / (tmp_path.name + "-cut")

    async def body() -> None:
        await planned(sched, "log_speed")
        clock.advance(2)
        await until(entered.is_set)
        shutil.copytree(tmp_path, cut)  # the disk at the moment of the cut
        gate.set()
        await until(lambda: len(inbox.loads) == 1)

    run(sched, body)
    first = inbox.loads[0]["jid"]

    for had_it in (True, False):
        again = FakeInbox()
        if had_it:
            again.seen.add(first)
        state_dir = tmp_path.parent / f"{tmp_path.name}-{had_it}"
        shutil.copytree(cut, state_dir)

        async def settle() -> None:
            await asyncio.sleep(0.2)

        back = FakeClock()
        back.advance(2.5)  # up again half a second after the cut: no slot missed
        run(scheduler(state_dir, again, back, SPEED), settle)
        assert [load["jid"] for load in again.loads] == ([] if had_it else [first])


def test_conditions_gate_runs_and_failures_are_counted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    clock, inbox = FakeClock(), FakeInbox()
    rpm: list[Any] = [0]

    def call(fun: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        assert (fun, args) == ("obd.query", ["RPM"])
        if isinstance(rpm[0], Exception):
            raise rpm[0]
        return {"value": rpm[0]}

    config = {"log_speed": {**SPEED["log_speed"],
                            "condition": {"function": "obd.query", "args": ["RPM"], "key": "value", "above": 0}}}
    sched = scheduler(tmp_path, inbox, clock, config, call)

    def status() -> dict[str, Any]:
        return dict(sched.listing()["entries"]["log_speed"]["status"])

    async def body() -> None:
        await planned(sched, "log_speed")
        clock.advance(2)  # engine off
        await until(lambda: status()["condition_false"] == 1)
        await idle(sched)
        rpm[0] = 850.0
        clock.advance(2)  # engine on
        await until(lambda: len(inbox.loads) == 1)
        await idle(sched)
        rpm[0] = TimeoutError("ECU silent")
        clock.advance(2)  # adapter fails
        await until(lambda: status()["condition_errors"] == 1)
        await idle(sched)
        rpm[0] = 900.0
        clock.advance(2)  # and the scheduler carries on
        await until(lambda: len(inbox.loads) == 2)

    run(sched, body)
    assert status()["runs"] == 2
    assert "condition check failed" in caplog.text and "ECU silent" in caplog.text


def test_maxrunning_counts_runs_until_their_return_is_queued(tmp_path: Path) -> None:
    clock, inbox = FakeClock(), FakeInbox(hold=True)
    sched = scheduler(tmp_path, inbox, clock, SPEED)

    async def body() -> None:
        await planned(sched, "log_speed")
        clock.advance(2)
        await until(lambda: len(inbox.loads) == 1)
        clock.advance(2)
        await until(lambda: sched.listing()["entries"]["log_speed"]["status"]["busy"] == 1)
        inbox.futures[0].set_result(None)  # the first run's return is in the outbox
        await idle(sched)
        clock.advance(2)
        await until(lambda: len(inbox.loads) == 2)

    run(sched, body)


def test_live_management_from_job_threads(tmp_path: Path) -> None:
    clock, inbox = FakeClock(), FakeInbox()
    sched = scheduler(tmp_path, inbox, clock)

    async def body() -> None:
        await asyncio.to_thread(sched.add, "battery", {"function": "power.status", "minutes": 1})
        await planned(sched, "battery")
        jid = await asyncio.to_thread(sched.run_job, "battery")
        assert jid is not None and inbox.loads[-1]["jid"] == jid
        assert inbox.loads[-1]["metadata"][META_KEY]["reason"] == "manual"
        listing = await asyncio.to_thread(sched.listing)
        assert listing["entries"]["battery"]["status"]["next_run"] == "2026-11-23T12:01:00"
        await idle(sched)
        clock.advance(60)
        await until(lambda: len(inbox.loads) == 2)
        await idle(sched)
        await asyncio.to_thread(sched.disable)
        clock.advance(120)
        await asyncio.sleep(0.1)
        assert len(inbox.loads) == 2
        await asyncio.to_thread(sched.enable)
        await asyncio.to_thread(sched.modify, "battery", {"seconds": 10})
        await until(lambda: sched.state.entries["battery"].next_at == clock.now_mono + 10)  # planned afresh
        clock.advance(10)
        await until(lambda: len(inbox.loads) == 3)
        await asyncio.to_thread(sched.delete, "battery")
        clock.advance(100)
        await asyncio.sleep(0.1)
        assert len(inbox.loads) == 3

    run(sched, body)


def test_follows_changes_made_by_another_process(tmp_path: Path) -> None:
    """``fleet-call schedule.add`` / ``run_job`` write the store; the running minion follows."""
    clock, inbox = FakeClock(), FakeInbox()
    sched = scheduler(tmp_path, inbox, clock)
    other = open_book(tmp_path)  # what fleet-call opens

    async def body() -> None:
        await asyncio.to_thread(other.add, "log_speed", SPEED["log_speed"])
        await asyncio.to_thread(other.run_job, "log_speed")
        await until(lambda: len(inbox.loads) == 1)
        assert inbox.loads[0]["metadata"][META_KEY]["reason"] == "manual"
        await planned(sched, "log_speed")
        await idle(sched)
        clock.advance(2)
        await until(lambda: len(inbox.loads) == 2)

    run(sched, body)


def test_run_job_before_the_loop_starts_is_kept_for_it(tmp_path: Path) -> None:
    clock, inbox = FakeClock(), FakeInbox()
    sched = scheduler(tmp_path, inbox, clock, SPEED)
    assert sched.run_job("log_speed") is None

    async def body() -> None:
        await until(lambda: len(inbox.loads) == 1)

    run(sched, body)
