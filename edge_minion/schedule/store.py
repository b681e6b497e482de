"""The schedule on disk, under ``<state_dir>/schedule/``; it survives restarts and power cuts.

* ``entries.json``: entries added at run time, the schedule's on/off switch and the
  config entries switched off. Written by the minion and by ``fleet-call`` alike,
  each read-modify-write under an exclusive ``flock`` on ``entries.lock``.
* ``state.json``: what the running minion knows (last slot and run of each entry,
  counters, the run sequence number and runs started but not yet handed to the
  inbox). Written only by the minion process.
* ``requests/``: ``schedule.run_job`` asked from another process, one file each,
  taken (and deleted) by the running minion.

Every file is replaced atomically: written to a temporary file, fsynced, renamed
over the old one, and the directory fsynced. Any OS or JSON error becomes
:class:`StoreError` naming the file, with the cause kept.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from edge_minion.schedule.due import EntryState, ScheduleState
from edge_minion.schedule.errors import StoreError

__all__ = ["ScheduleStore", "StoredEntries", "decode_state", "encode_state"]

log = logging.getLogger(__name__)
VERSION = 1
_PERSISTED = tuple(f.name for f in fields(EntryState) if f.name not in ("planned", "next_at", "offset"))


@dataclass
class StoredEntries:
    enabled: bool | None = None  # the schedule's switch; None: never set here (the config decides)
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    disabled_config: set[str] = field(default_factory=set)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        dirfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dirfd)
        finally:
            os.close(dirfd)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise StoreError(f"cannot write {path}: {exc}") from exc


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise StoreError(f"{path} is not valid JSON: {exc}") from exc


def _dumps(data: Any) -> bytes:
    try:
        return json.dumps(data, indent=1, sort_keys=True, default=str).encode()
    except (TypeError, ValueError) as exc:
        raise StoreError(f"schedule data cannot be stored as JSON: {exc}") from exc


class ScheduleStore:
    """The files of one minion's schedule in ``directory`` (created on first write)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.entries_path = directory / "entries.json"
        self.state_path = directory / "state.json"
        self.requests_dir = directory / "requests"
        self._lock_path = directory / "entries.lock"

    def _mkdir(self) -> None:
        try:
            self.requests_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create {self.requests_dir}: {exc}") from exc

    # ---- entries ------------------------------------------------------------------------

    def read_entries(self) -> StoredEntries:
        """Raises: StoreError: the file is unreadable or malformed."""
        data = _read_json(self.entries_path)
        if data is None:
            return StoredEntries()
        try:
            switch = data.get("enabled")
            return StoredEntries(None if switch is None else bool(switch),
                                 {str(k): dict(v) for k, v in dict(data.get("entries", {})).items()},
                                 {str(n) for n in data.get("disabled_config", [])})
        except (AttributeError, TypeError, ValueError) as exc:
            raise StoreError(f"{self.entries_path} does not hold a schedule: {exc}") from exc

    @contextlib.contextmanager
    def edit_entries(self) -> Iterator[StoredEntries]:
        """Read, let the caller change, write back; other processes wait on the lock meanwhile.
        Nothing is written if the block raises."""
        self._mkdir()
        try:
            lock = open(self._lock_path, "a+b")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise StoreError(f"cannot open {self._lock_path}: {exc}") from exc
        with lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            stored = self.read_entries()
            yield stored
            _write_atomic(self.entries_path, _dumps({
                "version": VERSION, "enabled": stored.enabled, "entries": stored.entries,
                "disabled_config": sorted(stored.disabled_config)}))

    def entries_version(self) -> str | None:
        """A digest of ``entries.json`` (None if absent): it changes with the content, whichever
        process wrote it. File times are too coarse for this (writes in the same clock tick)."""
        try:
            return hashlib.blake2b(self.entries_path.read_bytes(), digest_size=16).hexdigest()
        except OSError:
            return None

    # ---- state --------------------------------------------------------------------------

    def read_state(self) -> Any:
        """The raw state document (None if there is none). Raises: StoreError."""
        return _read_json(self.state_path)

    def write_state(self, data: Mapping[str, Any]) -> None:
        self._mkdir()
        _write_atomic(self.state_path, _dumps(dict(data)))

    def set_aside_state(self) -> Path:
        """Move an unreadable state file out of the way (kept for inspection)."""
        target = self.state_path.with_name(f"state.corrupt-{int(time.time())}.json")
        try:
            os.replace(self.state_path, target)
        except OSError as exc:
            raise StoreError(f"cannot move {self.state_path} aside: {exc}") from exc
        return target

    # ---- run requests -------------------------------------------------------------------

    def request_run(self, name: str, force: bool) -> None:
        self._mkdir()
        path = self.requests_dir / f"{time.time_ns()}-{os.getpid()}.json"
        _write_atomic(path, _dumps({"name": name, "force": force}))

    def take_requests(self) -> list[tuple[str, bool]]:
        """Pending run requests, oldest first; each is deleted as it is taken."""
        try:
            names = sorted(p for p in os.listdir(self.requests_dir) if not p.startswith("."))
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StoreError(f"cannot list {self.requests_dir}: {exc}") from exc
        taken: list[tuple[str, bool]] = []
        for name in names:
            path = self.requests_dir / name
            try:
                data = _read_json(path)
                path.unlink()
            except (StoreError, OSError) as exc:
                log.warning("ignoring run request %s: %s", path, exc)
                continue
            if isinstance(data, dict) and isinstance(data.get("name"), str):
                taken.append((data["name"], bool(data.get("force"))))
        return taken


def encode_state(state: ScheduleState, seq: int, pending: Mapping[str, Mapping[str, Any]],
                 boot_id: str) -> dict[str, Any]:
    """The persisted form of the runner's state."""
    return {
        "version": VERSION, "boot_id": boot_id, "seq": seq, "pending": {k: dict(v) for k, v in pending.items()},
        "entries": {name: {k: getattr(st, k) for k in _PERSISTED} for name, st in state.entries.items()},
    }


def decode_state(data: Any, boot_id: str) -> tuple[ScheduleState, int, dict[str, dict[str, Any]]]:
    """(state, seq, pending) from :func:`encode_state`'s output. Monotonic readings from
    another boot (or an unknown one) are dropped.

    Raises:
        StoreError: the document is not a schedule state.
    """
    if data is None:
        return ScheduleState(), 0, {}
    try:
        same_boot = bool(boot_id) and data.get("boot_id") == boot_id
        entries = {}
        for name, values in dict(data.get("entries", {})).items():
            st = EntryState(**{k: values[k] for k in _PERSISTED if k in values})
            entries[str(name)] = st if same_boot else replace(st, last_due_mono=None)
        pending = {str(k): dict(v) for k, v in dict(data.get("pending", {})).items()}
        return ScheduleState(entries), int(data.get("seq", 0)), pending
    except (AttributeError, TypeError, ValueError) as exc:
        raise StoreError(f"the schedule state is malformed: {exc}") from exc
