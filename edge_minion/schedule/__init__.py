"""The minion's scheduler: jobs the device runs by itself, offline included.

Reading order: ``entry`` (the syntax and its validation) -> ``conditions`` ->
``due`` (the pure timing rules, catch-up policy included) -> ``store`` (files
under ``<state_dir>/schedule/``) -> ``book`` (managing entries) -> ``runs`` (jids
and loads) -> ``runner`` (the asyncio loop in the minion).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from edge_minion.schedule.book import ScheduleBook
from edge_minion.schedule.clock import Clock, SystemClock
from edge_minion.schedule.conditions import Condition, check, parse_conditions
from edge_minion.schedule.due import Due, EntryState, ScheduleState, Tick, due
from edge_minion.schedule.entry import Entry, parse_entry
from edge_minion.schedule.errors import (
    ConditionError,
    ConfigEntry,
    InvalidEntry,
    ScheduleError,
    StoreError,
    UnknownEntry,
)
from edge_minion.schedule.runner import Scheduler, Submit
from edge_minion.schedule.runs import finish_return, run_jid, run_load, runner_call
from edge_minion.schedule.store import ScheduleStore

__all__ = [
    "Clock", "Condition", "ConditionError", "ConfigEntry", "Due", "Entry", "EntryState", "InvalidEntry",
    "ScheduleBook", "ScheduleError", "ScheduleState", "ScheduleStore", "Scheduler", "StoreError", "Submit",
    "SystemClock", "Tick", "UnknownEntry", "check", "due", "finish_return", "open_book", "parse_conditions",
    "parse_entry", "run_jid", "run_load", "runner_call",
]


def open_book(state_dir: Path, config_entries: Mapping[str, Any] | None = None) -> ScheduleBook:
    """The schedule stored under ``state_dir`` plus the config file's ``schedule:`` entries.

    Raises:
        StoreError: the stored schedule cannot be read.
    """
    return ScheduleBook(ScheduleStore(state_dir / "schedule"), config_entries)
