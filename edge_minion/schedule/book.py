"""The schedule's entries and how they are managed: config-file entries plus stored ones.

Entries declared in the minion config (``schedule:``) are read at start and can
only be switched on and off at run time (the switch is stored); ``schedule.add``
entries live in the store. Both are validated with :func:`parse_entry`; an entry
that does not validate is left out and reported (``problems``) instead of
stopping the minion, which must stay reachable to have it fixed.

``ScheduleBook`` is what ``fleet-call`` works on directly. Inside the minion the
:class:`~edge_minion.schedule.runner.Scheduler` wraps one and follows the store,
so changes made by ``fleet-call`` while the minion runs reach it too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Mapping
from datetime import tzinfo
from typing import Any, TypeVar

from edge_minion.schedule.due import EntryState
from edge_minion.schedule.entry import Entry, parse_entry
from edge_minion.schedule.errors import ConfigEntry, InvalidEntry, StoreError, UnknownEntry
from edge_minion.schedule.runs import utc_iso
from edge_minion.schedule.store import ScheduleStore, StoredEntries, decode_state

__all__ = ["ScheduleBook", "status_of"]

log = logging.getLogger(__name__)
T = TypeVar("T")
_TIME_KINDS = ({"seconds", "minutes", "hours", "days"}, {"cron"}, {"once", "once_fmt"})


def _merge(old: Mapping[str, Any], changes: Mapping[str, Any], remove: set[str]) -> dict[str, Any]:
    """``old`` with ``changes`` applied and ``remove`` dropped; new timing replaces all old timing."""
    timing = set().union(*_TIME_KINDS)
    drop = remove | (timing if timing & set(changes) else set())
    return {**{k: v for k, v in old.items() if k not in drop}, **changes}


class ScheduleBook:
    """Thread-safe; every change is written to the store before it is answered."""

    def __init__(self, store: ScheduleStore, config_entries: Mapping[str, Any] | None = None,
                 tz: tzinfo | None = None) -> None:
        self.store = store
        self._tz = tz
        self._lock = threading.Lock()
        config = dict(config_entries or {})
        switch = config.pop("enabled", True)  # Salt's schedule-wide ``enabled: false``
        self._config_enabled = switch if isinstance(switch, bool) else True
        if not isinstance(switch, bool):
            log.error("minion config: schedule enabled must be true or false, not %r", switch)
        self._config_raw = config
        self.problems: dict[str, str] = {}
        self._config: dict[str, Entry] = {}
        for name, data in self._config_raw.items():
            try:
                self._config[str(name)] = parse_entry(str(name), data, tz)
            except InvalidEntry as exc:
                log.error("minion config: %s; the entry is left out", exc)
                self.problems[str(name)] = str(exc)
        self._stored = StoredEntries()
        self._entries: dict[str, Entry] = {}
        try:
            self.reload()
        except StoreError as exc:  # keep the config entries running; changes will report the error
            log.error("stored schedule unreadable, running the config entries only: %s", exc)
            with self._lock:
                self._apply(StoredEntries())

    # ---- reading ------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the store again (another process may have changed it)."""
        stored = self.store.read_entries()
        with self._lock:
            self._apply(stored)

    def _apply(self, stored: StoredEntries) -> None:
        entries: dict[str, Entry] = {}
        problems = {k: v for k, v in self.problems.items() if k in self._config_raw and k not in self._config}
        for name, entry in self._config.items():
            off = name in stored.disabled_config
            entries[name] = parse_entry(name, {**entry.raw, "enabled": False}, self._tz) if off else entry
        for name, data in stored.entries.items():
            if name in self._config or name in self._config_raw:
                problems[name] = f"schedule entry {name!r} is declared in the minion config; the stored one is ignored"
                continue
            try:
                entries[name] = parse_entry(name, data, self._tz)
            except InvalidEntry as exc:
                problems[name] = str(exc)
        self._stored, self._entries, self.problems = stored, entries, problems

    def entries(self) -> dict[str, Entry]:
        with self._lock:
            return dict(self._entries)

    @property
    def enabled(self) -> bool:
        """The schedule's switch: the last schedule.enable/disable, else the config's ``enabled``."""
        with self._lock:
            return self._config_enabled if self._stored.enabled is None else self._stored.enabled

    def source(self, name: str) -> str:
        return "config" if name in self._config_raw else "store"

    def get(self, name: str) -> Entry:
        with self._lock:
            entry = self._entries.get(name)
        if entry is None:
            raise UnknownEntry(f"no schedule entry named {name!r}")
        return entry

    # ---- changing -----------------------------------------------------------------------

    def _edit_stored(self, change: Callable[[StoredEntries], T]) -> T:
        """Apply ``change(stored)`` under the store lock, then take the result as current."""
        with self.store.edit_entries() as stored:
            result = change(stored)
        with self._lock:
            self._apply(stored)
        return result

    def add(self, name: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """Add an entry; returns its stored mapping.

        Raises:
            InvalidEntry: the entry does not validate or exists already.
            ConfigEntry: the name is taken by a config-file entry.
            StoreError: the store cannot be written.
        """
        entry = parse_entry(name, data, self._tz)
        if name in self._config_raw:
            raise ConfigEntry(f"schedule entry {name!r} is declared in the minion config")

        def change(stored: StoredEntries) -> None:
            if name in stored.entries:
                raise InvalidEntry(f"schedule entry {name!r} exists already; use schedule.modify")
            stored.entries[name] = entry.to_mapping()

        self._edit_stored(change)
        return entry.to_mapping()

    def modify(self, name: str, changes: Mapping[str, Any],
               remove: Collection[str] = ()) -> tuple[dict[str, Any], dict[str, Any]]:
        """Change some keys of a stored entry and drop those in ``remove``; a new time kind
        (interval, cron, once) replaces the old one. Returns the (old, new) mappings.

        Raises:
            UnknownEntry, ConfigEntry, InvalidEntry, StoreError.
        """
        self._check_stored(name)
        old = self.get(name)
        new = parse_entry(name, _merge(old.raw, changes, set(remove or ())), self._tz)

        def change(stored: StoredEntries) -> None:
            if name not in stored.entries:
                raise UnknownEntry(f"no schedule entry named {name!r}")
            stored.entries[name] = new.to_mapping()

        self._edit_stored(change)
        return old.to_mapping(), new.to_mapping()

    def delete(self, name: str) -> dict[str, Any]:
        """Remove a stored entry; returns its mapping. Raises: UnknownEntry, ConfigEntry, StoreError."""
        self._check_stored(name)
        old = self.get(name)

        def change(stored: StoredEntries) -> None:
            if stored.entries.pop(name, None) is None:
                raise UnknownEntry(f"no schedule entry named {name!r}")

        self._edit_stored(change)
        return old.to_mapping()

    def enable_job(self, name: str) -> dict[str, Any]:
        return self._set_job_enabled(name, True)

    def disable_job(self, name: str) -> dict[str, Any]:
        return self._set_job_enabled(name, False)

    def enable(self) -> None:
        self._set_enabled(True)

    def disable(self) -> None:
        self._set_enabled(False)

    def _set_job_enabled(self, name: str, on: bool) -> dict[str, Any]:
        """Switch one entry on or off (config entries too). Raises: UnknownEntry, StoreError."""
        self.get(name)

        def change(stored: StoredEntries) -> None:
            if name in self._config_raw:
                (stored.disabled_config.discard if on else stored.disabled_config.add)(name)
            elif name in stored.entries:
                stored.entries[name] = {**stored.entries[name], "enabled": on}
            else:
                raise UnknownEntry(f"no schedule entry named {name!r}")

        self._edit_stored(change)
        return self.get(name).to_mapping()

    def _set_enabled(self, on: bool) -> None:
        """Switch the whole schedule on or off."""

        def change(stored: StoredEntries) -> None:
            stored.enabled = on

        self._edit_stored(change)

    def run_job(self, name: str, force: bool = False) -> str | None:
        """Ask the minion (now, or when it next starts) to run ``name`` once; None: no jid yet.

        Raises:
            UnknownEntry; InvalidEntry: the entry is disabled and ``force`` is false.
        """
        entry = self.get(name)
        if not entry.enabled and not force:
            raise InvalidEntry(f"schedule entry {name!r} is disabled; use force=True to run it anyway")
        self.store.request_run(name, force)
        return None

    def _check_stored(self, name: str) -> None:
        if name in self._config_raw:
            raise ConfigEntry(f"schedule entry {name!r} is declared in the minion config file; change it there "
                              "(only enable_job/disable_job work on it at run time)")
        self.get(name)

    # ---- listing ------------------------------------------------------------------------

    def listing(self, status: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
        """``{"enabled": bool, "entries": {name: mapping + source (+ status)}, "problems": {...}}``.

        Without ``status`` (no live scheduler), the counters come from the state file.
        """
        if status is None:
            status = self._stored_status()
        with self._lock:
            entries = dict(self._entries)
            enabled = self._config_enabled if self._stored.enabled is None else self._stored.enabled
            problems = dict(self.problems)
        out = {name: {**entry.to_mapping(), "enabled": entry.enabled, "source": self.source(name),
                      **({"status": dict(status[name])} if name in status else {})}
               for name, entry in sorted(entries.items())}
        return {"enabled": enabled, "entries": out, **({"problems": problems} if problems else {})}

    def _stored_status(self) -> dict[str, dict[str, Any]]:
        try:
            state, _, _ = decode_state(self.store.read_state(), "")
        except StoreError as exc:
            log.warning("%s", exc)
            return {}
        return {name: status_of(st) for name, st in state.entries.items()}


def status_of(st: EntryState, next_wall: float | None = None, running: int = 0) -> dict[str, Any]:
    """The ``status`` block of one entry in ``schedule.list``."""
    out: dict[str, Any] = {"runs": st.runs, "missed": st.missed, "busy": st.busy,
                           "condition_false": st.condition_false, "condition_errors": st.condition_errors,
                           "last_run": utc_iso(st.last_run_wall) if st.last_run_wall is not None else None}
    if next_wall is not None:
        out["next_run"] = utc_iso(next_wall)
    if running:
        out["running"] = running
    return out
