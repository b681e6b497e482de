"""The live scheduler: an asyncio loop around :func:`due`, with or without a master.

Each run is handed to ``submit(load)`` (the minion puts it in its durable inbox
and job runner, so the return goes through the outbox like any job's); its
conditions are checked with ``call(fun, args, kwargs)``. Both are blocking and
run in worker threads.

Exactly once, across crashes: before a run is submitted, the state file records
the run's sequence number and its whole publish load (``pending``). After a
crash, pending loads are submitted again with the same jid, and the inbox
refuses a jid it has seen. So a run is never lost between "decided" and
"queued", and never duplicated.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import Future
from dataclasses import replace
from datetime import tzinfo
from typing import Any, TypeVar

from edge_minion.schedule.book import ScheduleBook, status_of
from edge_minion.schedule.clock import Clock, SystemClock
from edge_minion.schedule.conditions import Call, check
from edge_minion.schedule.due import Due, EntryState, ScheduleState, due
from edge_minion.schedule.entry import Entry
from edge_minion.schedule.errors import ConditionError, InvalidEntry, ScheduleError, StoreError, UnknownEntry
from edge_minion.schedule.runs import run_jid, run_load
from edge_minion.schedule.store import decode_state, encode_state

__all__ = ["Scheduler", "Submit"]

log = logging.getLogger(__name__)
T = TypeVar("T")

#: ``submit(load)``: queue a run; a Future that completes when its return is queued, or None
#: when the jid was seen before (nothing runs).
Submit = Callable[[dict[str, Any]], "Future[None] | None"]


class Scheduler:
    """Runs a :class:`ScheduleBook`'s entries; also answers the management calls (thread-safe)."""

    def __init__(self, minion_id: str, book: ScheduleBook, submit: Submit, call: Call, *,
                 clock: Clock | None = None, rng: random.Random | None = None, tz: tzinfo | None = None,
                 poll: float = 0.5) -> None:
        self.minion_id = minion_id
        self.book = book
        self._submit = submit
        self._call = call
        self._clock = clock or SystemClock()
        self._rng = rng or random.Random()
        self._tz = tz
        self._poll = poll
        self._boot = self._clock.boot_id()
        self.state = ScheduleState()
        self._seq = 0
        self._pending: dict[str, dict[str, Any]] = {}
        self._running: dict[str, int] = {}
        self._entries: dict[str, Entry] = {}
        self._version: str | None = None
        self._started = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._launching = asyncio.Lock()
        self._saving = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()

    # ---- management (called from job threads) -------------------------------------------

    def add(self, name: str, data: Mapping[str, Any]) -> dict[str, Any]:
        return self._poked(self.book.add(name, data))

    def modify(self, name: str, changes: Mapping[str, Any],
               remove: Collection[str] = ()) -> tuple[dict[str, Any], dict[str, Any]]:
        return self._poked(self.book.modify(name, changes, remove))

    def delete(self, name: str) -> dict[str, Any]:
        return self._poked(self.book.delete(name))

    def enable_job(self, name: str) -> dict[str, Any]:
        return self._poked(self.book.enable_job(name))

    def disable_job(self, name: str) -> dict[str, Any]:
        return self._poked(self.book.disable_job(name))

    def enable(self) -> None:
        self.book.enable()
        self._poked(None)

    def disable(self) -> None:
        self.book.disable()
        self._poked(None)

    def run_job(self, name: str, force: bool = False) -> str | None:
        """Run ``name`` now (conditions and maxrunning do not apply); returns its jid.
        Before the loop runs, the request is stored and None returned."""
        loop = self._loop
        if loop is None or not loop.is_running():
            return self.book.run_job(name, force)
        return asyncio.run_coroutine_threadsafe(self._run_now(name, force), loop).result(timeout=60)

    def listing(self) -> dict[str, Any]:
        wall, mono = self._clock.wall(), self._clock.mono()
        running = dict(self._running)
        status = {}
        for name, st in self.state.entries.items():
            entry = self._entries.get(name)
            next_wall = None
            if entry is not None and st.next_at is not None and not st.done:
                fire = st.next_at + st.offset
                next_wall = wall + (fire - mono) if entry.kind == "interval" else fire
            status[name] = status_of(st, next_wall, running.get(name, 0))
        return self.book.listing(status)

    def _poked(self, result: T) -> T:
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._wake.set)
        return result

    # ---- the loop -------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set; needs no master."""
        self._loop = asyncio.get_running_loop()
        self._load_state()
        self._refresh()
        await self._resubmit_pending()
        self._started = True
        stopper = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                self._wake.clear()
                self._refresh()
                await self._take_requests()
                wake_at = await self._tick()
                delay = self._poll if wake_at is None else min(self._poll, max(0.0, wake_at - self._clock.mono()))
                waker = asyncio.ensure_future(self._wake.wait())
                await asyncio.wait({waker, stopper}, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
                waker.cancel()
        finally:
            stopper.cancel()
            self._loop = None
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._save()

    def _load_state(self) -> None:
        try:
            self.state, self._seq, self._pending = decode_state(self.book.store.read_state(), self._boot)
        except StoreError as exc:
            log.error("schedule state unreadable, starting afresh: %s", exc)
            with contextlib.suppress(StoreError):
                log.error("unreadable schedule state kept as %s", self.book.store.set_aside_state())

    def _refresh(self, force: bool = False) -> None:
        """Follow the store: entries changed by this or another process are planned afresh."""
        version = self.book.store.entries_version()
        if version == self._version and self._started and not force:
            return
        self._version = version
        try:
            self.book.reload()
        except StoreError as exc:
            log.error("cannot read the stored schedule, keeping the current one: %s", exc)
        new = self.book.entries()
        states = dict(self.state.entries)
        for name, entry in new.items():
            old = self._entries.get(name)
            if self._started and (old is None or old.raw != entry.raw):
                states[name] = replace(states.get(name, _fresh()), planned=True, next_at=None)
        self._entries = new
        self.state = replace(self.state, entries=states)

    async def _take_requests(self) -> None:
        try:
            requests = self.book.store.take_requests()
        except StoreError as exc:
            log.error("%s", exc)
            return
        for name, force in requests:
            if name not in self._entries:
                self._refresh(force=True)  # the entry may have been added an instant before its request
            try:
                await self._run_now(name, force)
            except ScheduleError as exc:
                log.warning("run request for %s refused: %s", name, exc)

    async def _tick(self) -> float | None:
        before = self.state
        tick = due(self._clock.wall(), self._clock.mono(), self._entries, before, running=self._running,
                   enabled=self.book.enabled, rng=self._rng, tz=self._tz)
        self.state = tick.state
        for name, why in tick.skipped:
            log.info("schedule entry %s: %s", name, "missed run skipped (catch_up: false)" if why == "missed"
                     else f"still running ({self._running.get(name, 0)}), maxrunning reached: run skipped")
        for run in tick.runs:
            self._running[run.name] = self._running.get(run.name, 0) + 1
            work = self._checked(run) if run.entry.conditions else self._launch(run)
            task = asyncio.ensure_future(work)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        handled = any(st.last_due_wall != (before.entries.get(n) or _fresh()).last_due_wall
                      for n, st in tick.state.entries.items())
        if handled and not tick.runs:
            await self._save()
        return tick.wake_mono

    async def _checked(self, run: Due) -> None:
        try:
            holds = await asyncio.to_thread(check, run.entry.conditions, self._call)
        except ConditionError as exc:
            log.warning("schedule entry %s: condition check failed, run skipped: %s", run.name, exc)
            self._count(run.name, condition_errors=1)
            self._release(run.name)
            return
        if not holds:
            log.debug("schedule entry %s: condition false, run skipped", run.name)
            self._count(run.name, condition_false=1)
            self._release(run.name)
            return
        await self._launch(run)

    async def _run_now(self, name: str, force: bool) -> str:
        entry = self._entries.get(name)
        if entry is None:
            raise UnknownEntry(f"no schedule entry named {name!r}")
        if not entry.enabled and not force:
            raise InvalidEntry(f"schedule entry {name!r} is disabled; use force=True to run it anyway")
        self._running[name] = self._running.get(name, 0) + 1
        return await self._launch(Due(name, entry, "manual"))

    async def _launch(self, run: Due) -> str:
        async with self._launching:
            wall = self._clock.wall()
            self._seq += 1
            jid = run_jid(wall, self._seq)
            load = run_load(self.minion_id, jid, self._seq, run, wall)
            self._pending[jid] = load
            st = self.state.entries.get(run.name, _fresh())
            self._set(run.name, replace(st, runs=st.runs + 1, last_run_wall=wall))
            await self._save()  # write-ahead: after a crash the load is submitted again, same jid
            try:
                future = await asyncio.to_thread(self._submit, load)
            except Exception:
                log.exception("schedule entry %s: could not queue run %s", run.name, jid)
                future = None
            self._pending.pop(jid, None)
        level = logging.DEBUG if run.reason in ("interval", "cron") else logging.INFO
        log.log(level, "schedule entry %s: run (%s) jid %s", run.name, run.reason, jid)
        self._watch(run.name, future)
        return jid

    async def _resubmit_pending(self) -> None:
        for jid, load in sorted(self._pending.items()):
            log.info("submitting scheduled run %s again after a restart", jid)
            try:
                await asyncio.to_thread(self._submit, load)
            except Exception:
                log.exception("could not queue scheduled run %s", jid)
        self._pending.clear()
        await self._save()

    def _watch(self, name: str, future: Future[None] | None) -> None:
        if future is None:
            self._release(name)
            return
        loop = self._loop

        def done(_: Future[None]) -> None:
            if loop is not None:
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(self._release, name)

        future.add_done_callback(done)

    def _release(self, name: str) -> None:
        self._running[name] = max(0, self._running.get(name, 0) - 1)
        self._wake.set()

    def _set(self, name: str, st: EntryState) -> None:
        self.state = replace(self.state, entries={**self.state.entries, name: st})

    def _count(self, name: str, **delta: int) -> None:
        st = self.state.entries.get(name, _fresh())
        self._set(name, replace(st, **{k: getattr(st, k) + v for k, v in delta.items()}))

    async def _save(self) -> None:
        async with self._saving:
            data = encode_state(self.state, self._seq, self._pending, self._boot)
            try:
                await asyncio.to_thread(self.book.store.write_state, data)
            except StoreError as exc:
                log.error("cannot save the schedule state: %s", exc)


def _fresh() -> EntryState:
    return EntryState()
