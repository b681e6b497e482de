"""The master's cache of each minion's grains (SQLite), fed by ``_pillar`` requests.

Grain targeting on the master (whom to expect) reads the in-memory copy;
``fleet-run cache.grains`` reads the file. Each entry keeps the time it was
last refreshed.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from cloud_master.errors import JobCacheError
from edge_minion.protocol import payload

_SCHEMA = """
CREATE TABLE IF NOT EXISTS grains (
    id TEXT PRIMARY KEY,
    grains BLOB NOT NULL,
    updated REAL NOT NULL
);
"""


class GrainsCache:
    def __init__(self, path: Path, load: bool = True) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise JobCacheError(f"cannot open grains cache {path}: {exc}") from exc
        self.memory: dict[str, dict[str, Any]] = {}
        self.updated: dict[str, float] = {}
        if load:
            for mid, blob, updated in self._db.execute("SELECT id, grains, updated FROM grains"):
                self.memory[mid] = payload.loads(blob)
                self.updated[mid] = float(updated)

    def store(self, minion_id: str, grains: dict[str, Any], now: float | None = None) -> bool:
        """Cache ``grains``; returns True when they differ from what was cached."""
        now = time.time() if now is None else now
        changed = self.memory.get(minion_id) != grains
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO grains (id, grains, updated) VALUES (?, ?, ?) "
                    "ON CONFLICT(id) DO UPDATE SET grains = excluded.grains, updated = excluded.updated",
                    (minion_id, payload.dumps(grains), now),
                )
            except sqlite3.Error as exc:
                raise JobCacheError(f"cannot write grains of {minion_id}: {exc}") from exc
        self.memory[minion_id] = grains
        self.updated[minion_id] = now
        return changed

    def get(self, minion_id: str) -> dict[str, Any] | None:
        return self.memory.get(minion_id)

    def forget(self, minion_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM grains WHERE id = ?", (minion_id,))
        self.memory.pop(minion_id, None)
        self.updated.pop(minion_id, None)

    def read_all(self) -> dict[str, tuple[dict[str, Any], float]]:
        """Every cached entry straight from the file (for CLIs; the master uses ``memory``)."""
        with self._lock:
            rows = self._db.execute("SELECT id, grains, updated FROM grains").fetchall()
        return {mid: (payload.loads(blob), float(updated)) for mid, blob, updated in rows}

    def close(self) -> None:
        with self._lock:
            self._db.close()
