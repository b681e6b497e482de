"""The durable inbox: every job the minion accepts is written down before it runs.

States: ``queued`` -> ``running`` -> ``done``. A jid is stored once, so a job
delivered twice (by the publish stream and again by the master's hold queue,
or after a restart) runs once. After a crash or power cut, jobs found
``running`` were interrupted: idempotent ones run again, the others are
reported as interrupted; ``queued`` ones never started and simply run.

The inbox shares the outbox's SQLite file so that "job done" and "its return
is queued" commit in one transaction.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Mapping
from typing import Any

from edge_minion.outbox import Outbox, OutboxError
from edge_minion.protocol import payload

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox (
    jid TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    received REAL NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_state ON inbox (state);
"""

#: How many finished jids are remembered for de-duplication.
KEEP_DONE = 20_000


class Inbox:
    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox
        with outbox.lock:
            outbox.connection.executescript(_SCHEMA)

    def accept(self, load: Mapping[str, Any], now: float | None = None) -> bool:
        """Record a new job; False if this jid was seen before (it must not run again)."""
        with self._outbox.lock:
            try:
                cur = self._outbox.connection.execute(
                    "INSERT OR IGNORE INTO inbox (jid, state, received, body) VALUES (?, 'queued', ?, ?)",
                    (str(load["jid"]), time.time() if now is None else now, payload.dumps(dict(load))),
                )
            except sqlite3.Error as exc:
                raise OutboxError(f"cannot write to the inbox: {exc}") from exc
        return cur.rowcount == 1

    def started(self, jid: str) -> None:
        self._set(jid, "running")

    def finish(self, jid: str, return_load: dict[str, Any]) -> int:
        """Queue the return and mark the job done, atomically; returns the outbox sequence."""
        return self._outbox.put(return_load, jid, also=lambda db: db.execute(
            "UPDATE inbox SET state = 'done' WHERE jid = ?", (jid,)))

    def _set(self, jid: str, state: str) -> None:
        with self._outbox.lock:
            try:
                self._outbox.connection.execute("UPDATE inbox SET state = ? WHERE jid = ?", (state, jid))
            except sqlite3.Error as exc:
                raise OutboxError(f"cannot update the inbox: {exc}") from exc

    def unfinished(self) -> list[tuple[str, dict[str, Any]]]:
        """(state, publish load) of every job not done, oldest first (for start-up recovery)."""
        with self._outbox.lock:
            rows = self._outbox.connection.execute(
                "SELECT state, body FROM inbox WHERE state != 'done' ORDER BY received").fetchall()
        return [(str(state), payload.loads(body)) for state, body in rows]

    def prune(self, keep: int = KEEP_DONE) -> int:
        with self._outbox.lock:
            cur = self._outbox.connection.execute(
                "DELETE FROM inbox WHERE state = 'done' AND jid NOT IN "
                "(SELECT jid FROM inbox WHERE state = 'done' ORDER BY received DESC LIMIT ?)", (keep,))
        return cur.rowcount

    def state(self, jid: str) -> str | None:
        with self._outbox.lock:
            row = self._outbox.connection.execute("SELECT state FROM inbox WHERE jid = ?", (jid,)).fetchone()
        return str(row[0]) if row else None
