"""The durable outbox: every return is written here before it is sent.

A row leaves the outbox only when the master has acknowledged it, so returns
survive link loss, restarts and power cuts. Rows keep their original
timestamps and go out in the order they were written.

Size bound: ``max_bytes`` (default 100 MB). When a new row would exceed it, the
oldest rows are dropped to make room (a device keeps its freshest data) and
each drop is counted in ``dropped`` and logged. That policy is the only way a
return is ever discarded.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_minion.errors import MinionError
from edge_minion.protocol import payload

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    jid TEXT NOT NULL,
    created REAL NOT NULL,
    size INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class OutboxError(MinionError):
    """The outbox could not be written (a full or read-only disk)."""


@dataclass(frozen=True)
class Entry:
    seq: int
    jid: str
    created: float
    load: dict[str, Any]


class Outbox:
    """SQLite (WAL, synchronous=FULL) queue of loads waiting for the master's ack."""

    def __init__(self, path: Path, max_bytes: int = 100 * 1024 * 1024) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise OutboxError(f"cannot open outbox {path}: {exc}") from exc
        self._bytes = int(self._db.execute("SELECT COALESCE(SUM(size), 0) FROM outbox").fetchone()[0])

    @property
    def connection(self) -> sqlite3.Connection:
        """The shared connection (the inbox lives in the same file); hold :attr:`lock`."""
        return self._db

    @property
    def lock(self) -> threading.Lock:
        return self._lock

    def put(self, load: dict[str, Any], jid: str, created: float | None = None,
            also: Callable[[sqlite3.Connection], object] | None = None) -> int:
        """Store a load durably; ``also`` runs in the same transaction. Returns its sequence number."""
        body = payload.dumps(load)
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._make_room(len(body))
                cur = self._db.execute(
                    "INSERT INTO outbox (jid, created, size, body) VALUES (?, ?, ?, ?)",
                    (jid, created if created is not None else time.time(), len(body), body),
                )
                if also is not None:
                    also(self._db)
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise OutboxError(f"cannot write to the outbox {self.path}: {exc}") from exc
            self._bytes += len(body)
            return int(cur.lastrowid or 0)

    def _make_room(self, size: int) -> None:
        while self._bytes + size > self.max_bytes:
            row = self._db.execute("SELECT seq, size, jid FROM outbox ORDER BY seq LIMIT 1").fetchone()
            if row is None:
                break
            self._db.execute("DELETE FROM outbox WHERE seq = ?", (row[0],))
            self._db.execute(
                "INSERT INTO counters (name, value) VALUES ('dropped', 1) "
                "ON CONFLICT(name) DO UPDATE SET value = value + 1"
            )
            self._bytes -= int(row[1])
            log.warning("outbox full (%d bytes): dropped the oldest return, jid %s", self.max_bytes, row[2])

    def _rollback(self) -> None:
        try:
            self._db.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    def peek(self, limit: int = 100) -> list[Entry]:
        """The oldest entries, in order, without removing them."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, jid, created, body FROM outbox ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        return [Entry(int(r[0]), str(r[1]), float(r[2]), payload.loads(r[3])) for r in rows]

    def ack(self, seq: int) -> None:
        """The master has the entry: remove it."""
        with self._lock:
            row = self._db.execute("SELECT size FROM outbox WHERE seq = ?", (seq,)).fetchone()
            try:
                self._db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))
            except sqlite3.Error as exc:
                raise OutboxError(f"cannot update the outbox {self.path}: {exc}") from exc
            if row:
                self._bytes -= int(row[0])

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    @property
    def dropped(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT value FROM counters WHERE name = 'dropped'").fetchone()
        return int(row[0]) if row else 0

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def close(self) -> None:
        with self._lock:
            self._db.close()
