"""The pure timing rules of ``due``: cadence, clocks, catch-up after downtime or sleep, options.

Every test hands in the time; nothing sleeps.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from edge_minion.schedule.due import ONCE_GRACE, EntryState, ScheduleState, Tick, due
from edge_minion.schedule.entry import Entry, parse_entry
from edge_minion.schedule.store import decode_state, encode_state

WALL0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC).timestamp()
MONO0 = 1000.0


def entry(name: str = "e", **kw: Any) -> Entry:
    return parse_entry(name, {"function": "test.ping", **kw}, tz=UTC)


class Sim:
    """Drives ``due`` like the runner does, with clocks moved by hand."""

    def __init__(self, *entries: Entry, state: ScheduleState | None = None, wall: float = WALL0,
                 mono: float = MONO0, seed: int = 1) -> None:
        self.entries = {e.name: e for e in entries}
        self.state = state or ScheduleState()
        self.wall, self.mono = wall, mono
        self.rng = random.Random(seed)
        self.running: dict[str, int] = {}
        self.enabled = True
        self.runs: list[tuple[float, str, str]] = []  # (mono, name, reason)
        self.skipped: list[tuple[str, str]] = []

    def tick(self) -> Tick:
        t = due(self.wall, self.mono, self.entries, self.state, running=self.running, enabled=self.enabled,
                rng=self.rng, tz=UTC)
        self.state = t.state
        self.runs += [(self.mono, r.name, r.reason) for r in t.runs]
        self.skipped += t.skipped
        return t

    def advance(self, seconds: float, step: float = 0.25) -> None:
        """Let time pass with the loop ticking every ``step`` seconds on both clocks."""
        end = self.mono + seconds
        while self.mono + step <= end + 1e-9:
            self.wall += step
            self.mono += step
            self.tick()

    def jump(self, wall: float = 0.0, mono: float = 0.0) -> Tick:
        """Clocks move without the loop running (sleep, stall, NTP step), then one tick."""
        self.wall += wall
        self.mono += mono
        return self.tick()

    def reasons(self) -> list[str]:
        return [reason for _, _, reason in self.runs]

    def restart(self, down: float, boot_id: str = "boot-1", new_boot: str = "boot-1", wall_shift: float = 0.0) -> None:
        """Persist the state, stay down ``down`` seconds, come back (maybe after a reboot)."""
        saved = encode_state(self.state, 0, {}, boot_id)
        self.state, _, _ = decode_state(saved, new_boot)
        self.wall += down + wall_shift
        self.mono = self.mono + down if new_boot == boot_id else 5.0  # a reboot restarts the monotonic clock


def test_interval_starts_one_period_after_start_and_keeps_cadence() -> None:
    sim = Sim(entry(seconds=2))
    sim.tick()
    sim.advance(60)
    assert len(sim.runs) == 30
    assert sim.runs[0][0] == MONO0 + 2
    gaps = {round(b[0] - a[0], 6) for a, b in zip(sim.runs, sim.runs[1:], strict=False)}
    assert gaps == {2.0}
    assert set(sim.reasons()) == {"interval"}


def test_run_on_start_runs_at_the_first_tick() -> None:
    sim = Sim(entry(seconds=10, run_on_start=True))
    sim.tick()
    assert sim.reasons() == ["start"]
    sim.advance(10)
    assert sim.reasons() == ["start", "interval"]


def test_wall_clock_steps_do_not_move_intervals() -> None:
    sim = Sim(entry(seconds=2))
    sim.tick()
    sim.advance(3)
    sim.jump(wall=+86_400 * 400)  # NTP fixes a stale boot date: a year later
    sim.advance(3)
    sim.jump(wall=-3600)  # and a step back
    sim.advance(4)
    assert [round(t - MONO0, 2) for t, _, _ in sim.runs] == [2, 4, 6, 8, 10]
    assert set(sim.reasons()) == {"interval"}


def test_sleep_runs_once_on_wake_then_resumes() -> None:
    sim = Sim(entry(seconds=2))
    sim.tick()
    sim.advance(4)
    t = sim.jump(wall=600, mono=600)  # suspended for 10 minutes: 300 slots passed
    assert [r.reason for r in t.runs] == ["catch-up"]
    sim.advance(4)
    assert sim.reasons() == ["interval", "interval", "catch-up", "interval", "interval"]


def test_sleep_with_catch_up_false_runs_nothing_on_wake() -> None:
    sim = Sim(entry(seconds=2, catch_up=False))
    sim.tick()
    sim.advance(4)
    t = sim.jump(wall=600, mono=600)
    assert t.runs == [] and t.skipped == [("e", "missed")]
    sim.advance(1.75)
    assert len(sim.runs) == 2
    sim.advance(0.25)
    assert len(sim.runs) == 3  # the cadence restarted from the wake
    assert sim.state.entries["e"].missed == 1


def test_a_late_tick_within_one_period_is_not_a_miss() -> None:
    sim = Sim(entry(seconds=10, catch_up=False))
    sim.tick()
    t = sim.jump(wall=19, mono=19)  # slot at 10 s seen at 19 s: late, not missed
    assert [r.reason for r in t.runs] == ["interval"]
    sim.advance(1)  # the next slot stays at 20 s
    assert [round(m - MONO0) for m, _, _ in sim.runs] == [19, 20]


def test_restart_within_the_period_keeps_the_cadence() -> None:
    sim = Sim(entry(seconds=10))
    sim.tick()
    sim.advance(13)  # ran at 10 s; next slot at 20 s
    sim.restart(down=4)  # back at 17 s: no slot was missed
    sim.tick()
    sim.advance(3)
    assert sim.reasons() == ["interval", "interval"]
    assert round(sim.runs[-1][0] - MONO0) == 20


def test_restart_after_missing_slots_runs_once_at_start() -> None:
    sim = Sim(entry(seconds=2))
    sim.tick()
    sim.advance(5)
    sim.restart(down=30)
    t = sim.tick()
    assert [r.reason for r in t.runs] == ["catch-up"]
    sim.advance(2)
    assert sim.reasons()[-2:] == ["catch-up", "interval"]


def test_restart_with_catch_up_false_skips_at_start() -> None:
    sim = Sim(entry(seconds=2, catch_up=False))
    sim.tick()
    sim.advance(5)
    sim.restart(down=30)
    t = sim.tick()
    assert t.runs == [] and t.skipped == [("e", "missed")]


def test_after_a_reboot_the_wall_clock_decides() -> None:
    sim = Sim(entry(hours=1))
    sim.tick()
    sim.advance(3600, step=60)
    sim.restart(down=600, new_boot="boot-2")  # 10 minutes: nothing missed, next run 50 minutes later
    assert sim.state.entries["e"].last_due_mono is None
    assert sim.tick().runs == []
    sim.advance(3000 - 60, step=60)
    assert len(sim.runs) == 1
    sim.advance(60, step=60)
    assert len(sim.runs) == 2


def test_a_stale_boot_date_counts_as_missed() -> None:
    """A Pi without RTC boots with a date before the last run: we cannot tell, so catch up once."""
    sim = Sim(entry(hours=1))
    sim.tick()
    sim.advance(3600, step=60)
    sim.restart(down=30, new_boot="boot-2", wall_shift=-86_400)
    assert [r.reason for r in sim.tick().runs] == ["catch-up"]


def test_never_run_entry_does_not_catch_up_at_start() -> None:
    sim = Sim(entry(seconds=5))
    assert sim.tick().runs == []


def test_maxrunning_skips_slots_while_busy() -> None:
    sim = Sim(entry(seconds=2, maxrunning=1))
    sim.tick()
    sim.running["e"] = 1
    sim.advance(4)
    assert sim.runs == [] and sim.skipped == [("e", "busy"), ("e", "busy")]
    sim.running["e"] = 0
    sim.advance(2)
    assert sim.reasons() == ["interval"]
    assert sim.state.entries["e"].busy == 2


def test_splay_delays_each_run_within_its_range() -> None:
    sim = Sim(entry(seconds=10, splay={"start": 2, "end": 4}), seed=7)
    sim.tick()
    sim.advance(100, step=0.01)
    assert len(sim.runs) == 9
    for k, (mono, _, _) in enumerate(sim.runs, start=1):
        assert MONO0 + 10 * k + 2 <= mono <= MONO0 + 10 * k + 4 + 0.01


def test_after_and_until_bound_the_runs() -> None:
    sim = Sim(entry(seconds=10, after=datetime.fromtimestamp(WALL0 + 25, UTC).isoformat(),
                    until=datetime.fromtimestamp(WALL0 + 65, UTC).isoformat()))
    sim.tick()
    sim.advance(200)
    assert [round(m - MONO0) for m, _, _ in sim.runs] == [30, 40, 50, 60]
    assert sim.tick().wake_mono is None


def test_disabled_entry_does_not_run_and_is_not_caught_up() -> None:
    on = entry(seconds=2)
    sim = Sim(entry(seconds=2, enabled=False))
    sim.tick()
    sim.advance(20)
    assert sim.runs == []
    sim.entries = {"e": on}
    sim.tick()
    assert sim.runs == []
    sim.advance(2)
    assert sim.reasons() == ["interval"]


def test_schedule_switched_off_runs_nothing() -> None:
    sim = Sim(entry(seconds=2), entry("f", seconds=3))
    sim.enabled = False
    sim.tick()
    sim.advance(10)
    assert sim.runs == []
    sim.enabled = True
    sim.advance(6)
    assert sorted(n for _, n, _ in sim.runs) == ["e", "e", "f"]  # cadences restart at the switch-on tick


def test_removed_entries_leave_the_state() -> None:
    sim = Sim(entry(seconds=2), entry("f", seconds=3))
    sim.tick()
    sim.entries.pop("f")
    sim.tick()
    assert set(sim.state.entries) == {"e"}


def test_cron_runs_at_its_minutes() -> None:
    sim = Sim(entry(cron="*/15 * * * *"))
    sim.tick()
    sim.advance(3600, step=5)
    assert [datetime.fromtimestamp(WALL0 + m - MONO0, UTC).strftime("%H:%M") for m, _, _ in sim.runs] == \
        ["12:15", "12:30", "12:45", "13:00"]


def test_cron_after_a_forward_jump_runs_once() -> None:
    sim = Sim(entry(cron="* * * * *"))
    sim.tick()
    sim.advance(120, step=1)
    assert len(sim.runs) == 2
    t = sim.jump(wall=5 * 3600)  # NTP: 300 minutes passed at once
    assert [r.reason for r in t.runs] == ["catch-up"]
    sim.advance(60, step=1)
    assert sim.reasons()[-2:] == ["catch-up", "cron"]


def test_cron_after_a_step_back_is_planned_again() -> None:
    sim = Sim(entry(cron="*/10 * * * *"))
    sim.tick()
    sim.jump(wall=-3 * 86_400)  # three days back: without replanning it would wait three days
    sim.advance(600, step=5)
    assert len(sim.runs) == 1


def test_cron_missed_while_down_runs_once_at_start() -> None:
    sim = Sim(entry(cron="0 * * * *"))
    sim.tick()
    sim.advance(3600, step=30)
    assert len(sim.runs) == 1
    sim.restart(down=3 * 3600)
    assert [r.reason for r in sim.tick().runs] == ["catch-up"]
    quiet = Sim(entry(cron="0 * * * *", catch_up=False), state=sim.state, wall=sim.wall + 10, mono=sim.mono + 10)
    quiet.state = ScheduleState({"e": EntryState(last_due_wall=WALL0)})
    assert quiet.tick().runs == []


def test_once_runs_once_and_stays_done() -> None:
    at = datetime.fromtimestamp(WALL0 + 30, UTC).isoformat()
    sim = Sim(entry(once=at))
    sim.tick()
    sim.advance(100)
    assert sim.reasons() == ["once"] and round(sim.runs[0][0] - MONO0) == 30
    sim.restart(down=10)
    sim.advance(100)
    assert len(sim.runs) == 1


def test_once_missed_while_down() -> None:
    at = datetime.fromtimestamp(WALL0 - 3600, UTC).isoformat()
    assert [r.reason for r in Sim(entry(once=at)).tick().runs] == ["catch-up"]
    assert Sim(entry(once=at, catch_up=False)).tick().runs == []
    just = datetime.fromtimestamp(WALL0 - ONCE_GRACE / 2, UTC).isoformat()
    assert [r.reason for r in Sim(entry(once=just, catch_up=False)).tick().runs] == ["once"]


def test_wake_time_points_at_the_next_slot() -> None:
    sim = Sim(entry(seconds=7), entry("c", cron="30 12 * * *"))
    t = sim.tick()
    assert t.wake_mono == MONO0 + 7
    sim.entries.pop("e")
    assert sim.tick().wake_mono == MONO0 + 30 * 60


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=1, max_value=120),
       st.lists(st.tuples(st.floats(min_value=0.01, max_value=900), st.booleans()), min_size=1, max_size=80),
       st.booleans())
def test_never_a_burst_and_never_starved(period: float, gaps: list[tuple[float, bool]], catch_up: bool) -> None:
    """Whatever the gaps between ticks: at most one run per tick, no more runs than periods
    (+1), and an entry ticked often enough runs about once per period."""
    sim = Sim(entry(seconds=period, catch_up=catch_up))
    sim.tick()
    for gap, wall_too in gaps:
        t = sim.jump(wall=gap if wall_too else 0.0, mono=gap)
        assert len(t.runs) <= 1
    elapsed = sim.mono - MONO0
    assert len(sim.runs) <= elapsed / period + 1
    if all(gap <= period / 4 for gap, _ in gaps):
        assert len(sim.runs) >= elapsed / period - 1
