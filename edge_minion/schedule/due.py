"""Which entries run now: a pure function of the time, the entries and their state.

``due(now_wall, now_mono, entries, state)`` never reads a clock (huey's
``Scheduler.loop(now)``); the runner calls it about once a second and whenever
something changes, and tests call it with any times they like.

Theory of operation:

1. Interval entries live on the monotonic clock (``now_mono``: the runner uses
   CLOCK_BOOTTIME, which counts suspend and ignores wall-clock steps), so an NTP
   correction or a stale boot date never shifts them. Cron and once entries are
   wall-clock by nature and use ``now_wall``; the cron fields are read in ``tz``
   (None: the device's local zone).
2. A slot is *missed* when the entry was not run by the time its next slot had
   also come: the minion was stopped, the device slept, the loop stalled, or the
   wall clock jumped forward. Missed slots are never replayed as a burst: with
   ``catch_up: true`` (the default) the entry runs once now, with ``catch_up:
   false`` it does not run; either way its cadence restarts from now.
3. At start, an entry's persisted ``last_due`` tells whether a slot was missed
   while the minion was down (monotonic time when the device did not reboot
   since, else wall time; a last slot in the future, from a stale clock, counts
   as missed). ``run_on_start: true`` runs it at start regardless. An entry never
   run before starts its cadence from now.
4. A slot that comes while ``maxrunning`` runs of the entry are still going is
   skipped (``busy``); slots before ``after`` are skipped; after ``until`` the
   entry is over. A disabled entry keeps no plan: when enabled again (or
   modified) its cadence starts from now, with no catch-up for the time it was off.
5. If the wall clock steps back by more than a second, cron entries are planned
   again from the new time.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo

from edge_minion.schedule.entry import Entry

__all__ = ["ONCE_GRACE", "Due", "EntryState", "ScheduleState", "Tick", "due"]

#: A once entry found this many seconds late still runs when catch_up is false.
ONCE_GRACE = 60.0


@dataclass(frozen=True)
class EntryState:
    """What the scheduler knows of one entry. ``next_at``/``offset``/``planned`` live only
    in this process; the rest is persisted. ``due`` sets the plan and ``last_due``; the
    runner counts what then happened (runs, conditions)."""

    planned: bool = False  # planned at least once in this process: run_on_start is spent
    next_at: float | None = None  # next slot: monotonic for intervals, wall for cron/once
    offset: float = 0.0  # splay added to next_at
    last_due_wall: float | None = None  # when the last slot was handled (run or skipped)
    last_due_mono: float | None = None  # the same on the monotonic clock; None after a reboot
    last_run_wall: float | None = None
    runs: int = 0
    missed: int = 0
    busy: int = 0
    condition_false: int = 0
    condition_errors: int = 0
    done: bool = False  # a once entry has had its turn


@dataclass(frozen=True)
class ScheduleState:
    entries: Mapping[str, EntryState] = field(default_factory=dict)
    seen_wall: float | None = None  # now_wall of the previous call (detects steps back)


@dataclass(frozen=True)
class Due:
    """One run to start now; ``reason`` is interval, cron, once, start, catch-up or manual."""

    name: str
    entry: Entry
    reason: str


@dataclass(frozen=True)
class Tick:
    runs: list[Due]
    state: ScheduleState
    skipped: list[tuple[str, str]]  # (entry, "missed" | "busy") for the log
    wake_mono: float | None  # when due() has something to do next (monotonic); None: nothing planned


@dataclass
class _Now:
    wall: float
    mono: float
    tz: tzinfo | None
    clock_back: bool
    rng: random.Random


def _draw(entry: Entry, rng: random.Random) -> float:
    return rng.uniform(*entry.splay) if entry.splay else 0.0


def _cron_after(entry: Entry, wall: float, tz: tzinfo | None) -> float:
    assert entry.cron is not None
    local = datetime.fromtimestamp(wall, tz) if tz is not None else datetime.fromtimestamp(wall)
    nxt = entry.cron.next_after(local.replace(tzinfo=None))
    return nxt.replace(tzinfo=tz).timestamp() if tz is not None else nxt.timestamp()


def _since_last(st: EntryState, now: _Now) -> float | None:
    if st.last_due_mono is not None:
        return now.mono - st.last_due_mono
    if st.last_due_wall is not None:
        return now.wall - st.last_due_wall
    return None


def _slot(entry: Entry, st: EntryState, now: _Now, reason: str, running: int) -> tuple[EntryState, Due | None, str]:
    """Handle a slot that has come: run it, or skip it and say why ("" for a silent skip)."""
    st = replace(st, last_due_wall=now.wall, last_due_mono=now.mono)
    if entry.after is not None and now.wall < entry.after:
        return st, None, ""
    if reason == "missed":
        return replace(st, missed=st.missed + 1), None, "missed"
    if running >= entry.maxrunning:
        return replace(st, busy=st.busy + 1), None, "busy"
    return st, Due(entry.name, entry, reason), ""


def _missed_reason(entry: Entry) -> str:
    return "catch-up" if entry.catch_up else "missed"


def _interval(entry: Entry, st: EntryState, now: _Now, running: int) -> tuple[EntryState, Due | None, str]:
    period = entry.interval or 0.0
    if not st.planned:
        st = replace(st, planned=True)
        if entry.run_on_start:
            st, run, why = _slot(entry, st, now, "start", running)
            return replace(st, next_at=now.mono + period, offset=_draw(entry, now.rng)), run, why
        elapsed = _since_last(st, now)
        if elapsed is not None and (elapsed < 0 or elapsed >= period):
            st, run, why = _slot(entry, st, now, _missed_reason(entry), running)
            return replace(st, next_at=now.mono + period, offset=_draw(entry, now.rng)), run, why
        wait = period - elapsed if elapsed is not None else period
        return replace(st, next_at=now.mono + wait, offset=_draw(entry, now.rng)), None, ""
    if st.next_at is None:
        return replace(st, next_at=now.mono + period, offset=_draw(entry, now.rng)), None, ""
    slot = st.next_at
    if now.mono < slot + st.offset:
        return st, None, ""
    late = now.mono - (slot + st.offset) >= period
    st, run, why = _slot(entry, st, now, _missed_reason(entry) if late else "interval", running)
    return replace(st, next_at=now.mono + period if late else slot + period, offset=_draw(entry, now.rng)), run, why


def _cron(entry: Entry, st: EntryState, now: _Now, running: int) -> tuple[EntryState, Due | None, str]:
    run: Due | None = None
    why = ""
    if not st.planned:
        st = replace(st, planned=True)
        if entry.run_on_start:
            st, run, why = _slot(entry, st, now, "start", running)
        elif st.last_due_wall is not None and (st.last_due_wall > now.wall
                                               or _cron_after(entry, st.last_due_wall, now.tz) <= now.wall):
            st, run, why = _slot(entry, st, now, _missed_reason(entry), running)
    elif st.next_at is not None and not now.clock_back:
        if now.wall < st.next_at + st.offset:
            return st, None, ""
        late = _cron_after(entry, st.next_at, now.tz) + st.offset <= now.wall
        st, run, why = _slot(entry, st, now, _missed_reason(entry) if late else "cron", running)
    return replace(st, next_at=_cron_after(entry, now.wall, now.tz), offset=_draw(entry, now.rng)), run, why


def _once(entry: Entry, st: EntryState, now: _Now, running: int) -> tuple[EntryState, Due | None, str]:
    assert entry.once is not None
    if st.done:
        return st, None, ""
    if not st.planned or st.next_at is None:
        st = replace(st, planned=True, next_at=entry.once, offset=_draw(entry, now.rng))
    if now.wall < entry.once + st.offset:
        return st, None, ""
    late = now.wall - (entry.once + st.offset) > ONCE_GRACE
    st, run, why = _slot(entry, st, now, _missed_reason(entry) if late else "once", running)
    return replace(st, done=True, next_at=None), run, why


_STEPS = {"interval": _interval, "cron": _cron, "once": _once}


def _wake(entry: Entry, st: EntryState, now: _Now) -> float | None:
    if st.next_at is None or st.done:
        return None
    fire = st.next_at + st.offset
    if entry.kind == "interval":
        return fire
    return now.mono + max(0.0, fire - now.wall)


def due(now_wall: float, now_mono: float, entries: Mapping[str, Entry], state: ScheduleState, *,
        running: Mapping[str, int] | None = None, enabled: bool = True, rng: random.Random | None = None,
        tz: tzinfo | None = None) -> Tick:
    """The runs to start at this moment, the new state, and when to look again.

    ``running`` counts the runs of each entry still in progress (for ``maxrunning``);
    ``enabled=False`` is the whole schedule switched off; ``rng`` draws splay delays.
    The state returned holds only the entries given.
    """
    now = _Now(now_wall, now_mono, tz, clock_back=state.seen_wall is not None and now_wall < state.seen_wall - 1.0,
               rng=rng or random.Random())
    counts = running or {}
    runs: list[Due] = []
    skipped: list[tuple[str, str]] = []
    new: dict[str, EntryState] = {}
    wake: float | None = None
    for name in sorted(entries):
        entry = entries[name]
        st = state.entries.get(name, EntryState())
        if entry.until is not None and now_wall > entry.until:
            new[name] = replace(st, next_at=None)  # over for good
            continue
        if not enabled or not entry.enabled:
            new[name] = replace(st, next_at=None, planned=True)  # enabling starts the cadence afresh
            continue
        st, run, why = _STEPS[entry.kind](entry, st, now, counts.get(name, 0))
        new[name] = st
        if run is not None:
            runs.append(run)
        if why:
            skipped.append((name, why))
        at = _wake(entry, st, now)
        if at is not None:
            wake = at if wake is None else min(wake, at)
    return Tick(runs, ScheduleState(new, now_wall), skipped, wake)
