"""The job cache: every publish, every return and each target's state, in SQLite.

Salt keeps this as directories of pickles (``local_cache``); one SQLite file in WAL
mode lets the master write while ``fleet-run`` reads from another process, and a
failed write is an exception instead of a half-written directory.

Invariants:

* One connection per thread (``threading.local``), ``busy_timeout`` on each, every
  write in ``BEGIN IMMEDIATE`` ... ``COMMIT``; ``synchronous=NORMAL`` (WAL: a power
  cut may lose the last transactions but never corrupts the file).
* The first return for a (jid, minion id) pair wins, as in Salt; later ones only
  bump ``duplicates``. Returns for jids with no job row are stored too.
* Values (loads, args, targets) are msgpack with the bin type, so ``bytes`` and
  ``str`` round-trip distinctly; datetimes use Salt's ext type 78; tuples and sets
  come back as lists.
* Any ``sqlite3.Error`` (full disk, read-only file, corruption) becomes
  ``JobCacheError`` naming the file and the action, with the cause kept; nothing is
  dropped silently.
"""

from __future__ import annotations

import fnmatch
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import msgpack

from cloud_master.errors import JobCacheError
from cloud_master.jid import jid_start_time

__all__ = ["MINION_STATES", "Job", "JobCache"]

#: Per-target job states; ``published`` is set by ``add_job``, ``returned`` by ``add_return``.
MINION_STATES = frozenset({"published", "pending-offline", "delivered", "running", "returned",
                           "failed", "interrupted", "expired"})
SCHEMA_VERSION = 1
#: States in which a target still owes a return (a job can be delivered to it).
_OPEN_STATES = "('published', 'pending-offline', 'delivered', 'running')"
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS jobs (
        jid TEXT PRIMARY KEY, fun TEXT NOT NULL, arg BLOB NOT NULL, tgt BLOB NOT NULL,
        tgt_type TEXT NOT NULL, user TEXT NOT NULL, load BLOB NOT NULL, minions BLOB NOT NULL,
        created REAL NOT NULL, expires REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS returns (
        jid TEXT NOT NULL, minion_id TEXT NOT NULL, load BLOB NOT NULL, received REAL NOT NULL,
        duplicates INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (jid, minion_id)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS minion_states (
        jid TEXT NOT NULL, minion_id TEXT NOT NULL, state TEXT NOT NULL, since REAL NOT NULL,
        PRIMARY KEY (jid, minion_id)) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created)",
    "CREATE INDEX IF NOT EXISTS returns_received ON returns (received)",
    f"PRAGMA user_version = {SCHEMA_VERSION}",
)
_DATETIME_EXT = 78  # Salt's msgpack ext code for datetime
_DATETIME_FMT = "%Y%m%dT%H:%M:%S.%f"


def _default(obj: Any) -> Any:
    if isinstance(obj, datetime):
        return msgpack.ExtType(_DATETIME_EXT, obj.strftime(_DATETIME_FMT).encode())
    if isinstance(obj, set | frozenset):
        return list(obj)
    raise TypeError(f"cannot store a {type(obj).__name__} in the job cache")


def _ext_hook(code: int, data: bytes) -> Any:
    if code == _DATETIME_EXT:
        return datetime.strptime(data.decode(), _DATETIME_FMT)
    return msgpack.ExtType(code, data)


def _pack(value: Any) -> bytes:
    try:
        packed: bytes = msgpack.packb(value, use_bin_type=True, default=_default)
    except (TypeError, ValueError, OverflowError) as exc:
        raise JobCacheError(f"value cannot be stored in the job cache: {exc}") from exc
    return packed


def _unpack(data: bytes) -> Any:
    return msgpack.unpackb(data, raw=False, strict_map_key=False, ext_hook=_ext_hook)


@dataclass(frozen=True)
class Job:
    """One published job as stored by ``add_job``; times are epoch seconds."""

    jid: str
    fun: str
    arg: list[Any]
    tgt: Any
    tgt_type: str
    user: str
    load: dict[str, Any]
    minions: list[str]
    created: float
    expires: float


class JobCache:
    """The job cache in the SQLite file ``path`` (created with its directory if absent).

    ``max_size_bytes`` caps the database size (writes beyond it raise
    ``JobCacheError``, as on a full disk). Safe to share between threads.

    Raises:
        JobCacheError: the file cannot be opened or was written by a newer schema.
    """

    def __init__(self, path: Path | str, *, busy_timeout: float = 10.0,
                 max_size_bytes: int | None = None) -> None:
        self.path = Path(path)
        self._busy_timeout = busy_timeout
        self._max_size_bytes = max_size_bytes
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self._conn()

    # -- connections and errors ----------------------------------------------------------

    def _error(self, action: str, exc: BaseException) -> JobCacheError:
        text = str(exc)
        hint = ""
        if "readonly" in text or "read-only" in text.lower():
            hint = " (the database file or its directory is read-only)"
        elif "full" in text:
            hint = " (no space left for the database)"
        return JobCacheError(f"job cache {self.path}: cannot {action}: {text}{hint}")

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None,
                                   check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise self._error("open the database", exc) from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise JobCacheError(f"job cache {self.path} has schema {version}, newer than "
                                    f"this edgefleet ({SCHEMA_VERSION}); upgrade edgefleet")
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            if self._max_size_bytes is not None:
                page = conn.execute("PRAGMA page_size").fetchone()[0]
                conn.execute(f"PRAGMA max_page_count = {max(1, self._max_size_bytes // page)}")
            if version < SCHEMA_VERSION:
                conn.execute("BEGIN IMMEDIATE")
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.close()
            raise self._error("open the database", exc) from exc
        except JobCacheError:
            conn.close()
            raise
        self._local.conn = conn
        with self._conns_lock:
            self._conns.append(conn)
        return conn

    @contextmanager
    def _write(self, action: str) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            finally:
                # SQLite may already have rolled back (SQLITE_FULL does); never mask the cause.
                if conn.in_transaction:
                    try:
                        conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
        except sqlite3.Error as exc:
            raise self._error(action, exc) from exc

    def _read(self, action: str, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        try:
            return self._conn().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._error(action, exc) from exc

    def close(self) -> None:
        """Close every thread's connection."""
        with self._conns_lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            conn.close()
        self._local = threading.local()

    def __enter__(self) -> JobCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- writes --------------------------------------------------------------------------

    def add_job(self, jid: str, load: Mapping[str, Any], minions: Sequence[str], tgt: Any,
                tgt_type: str, fun: str, arg: Sequence[Any], user: str, ttl_seconds: float,
                *, now: float | None = None) -> None:
        """Store a published job; each expected minion starts in state ``published``.

        Raises:
            JobCacheError: the jid exists already, or the write failed.
        """
        now = time.time() if now is None else now
        row = (jid, fun, _pack(list(arg)), _pack(tgt), tgt_type, user, _pack(dict(load)),
               _pack(list(minions)), now, now + ttl_seconds)
        with self._write(f"store job {jid}") as conn:
            try:
                conn.execute("INSERT INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
            except sqlite3.IntegrityError as exc:
                raise JobCacheError(f"job cache {self.path}: job {jid} exists already") from exc
            conn.executemany(
                "INSERT OR IGNORE INTO minion_states VALUES (?, ?, 'published', ?)",
                [(jid, minion, now) for minion in minions],
            )

    def add_return(self, jid: str, minion_id: str, load: Mapping[str, Any],
                   *, now: float | None = None) -> bool:
        """Store the return of ``minion_id`` for ``jid``; its state becomes ``returned``.

        Returns False (and counts a duplicate) if that pair has returned before.

        Raises:
            JobCacheError: the write failed; the return is not stored.
        """
        now = time.time() if now is None else now
        data = _pack(dict(load))
        with self._write(f"store the return of {minion_id} for job {jid}") as conn:
            cur = conn.execute("INSERT OR IGNORE INTO returns VALUES (?, ?, ?, ?, 0)",
                               (jid, minion_id, data, now))
            if cur.rowcount == 0:
                conn.execute("UPDATE returns SET duplicates = duplicates + 1 "
                              "WHERE jid = ? AND minion_id = ?", (jid, minion_id))
                return False
            conn.execute("INSERT OR REPLACE INTO minion_states VALUES (?, ?, ?, ?)",
                         (jid, minion_id, return_state(load), now))
            return True

    def add_returns(self, items: Sequence[tuple[str, str, Mapping[str, Any]]],
                    *, now: float | None = None) -> list[bool]:
        """Store many returns in one transaction; one flag per item as :meth:`add_return` gives."""
        now = time.time() if now is None else now
        stored: list[bool] = []
        with self._write(f"store {len(items)} returns") as conn:
            for jid, minion_id, load in items:
                cur = conn.execute("INSERT OR IGNORE INTO returns VALUES (?, ?, ?, ?, 0)",
                                   (jid, minion_id, _pack(dict(load)), now))
                if cur.rowcount == 0:
                    conn.execute("UPDATE returns SET duplicates = duplicates + 1 "
                                 "WHERE jid = ? AND minion_id = ?", (jid, minion_id))
                    stored.append(False)
                    continue
                conn.execute("INSERT OR REPLACE INTO minion_states VALUES (?, ?, ?, ?)",
                             (jid, minion_id, return_state(load), now))
                stored.append(True)
        return stored

    def set_minion_state(self, jid: str, minion_id: str, state: str, since: float) -> None:
        """Record that ``minion_id`` is in ``state`` for ``jid`` since ``since`` (epoch seconds).

        Raises:
            ValueError: ``state`` is not one of ``MINION_STATES``.
            JobCacheError: the write failed.
        """
        if state not in MINION_STATES:
            raise ValueError(f"unknown minion job state {state!r}; one of {sorted(MINION_STATES)}")
        with self._write(f"set the state of {minion_id} for job {jid}") as conn:
            conn.execute("INSERT OR REPLACE INTO minion_states VALUES (?, ?, ?, ?)",
                         (jid, minion_id, state, since))

    def mark(self, jid: str, minion_ids: Sequence[str], state: str, since: float) -> None:
        """Set ``state`` for several targets of ``jid`` at once (never over a final state)."""
        if state not in MINION_STATES:
            raise ValueError(f"unknown minion job state {state!r}")
        with self._write(f"set states for job {jid}") as conn:
            conn.executemany(
                "INSERT INTO minion_states VALUES (?, ?, ?, ?) ON CONFLICT(jid, minion_id) DO UPDATE "
                "SET state = excluded.state, since = excluded.since "
                f"WHERE minion_states.state IN {_OPEN_STATES}",
                [(jid, m, state, since) for m in minion_ids])

    def pending_for(self, minion_id: str, now: float | None = None) -> list[dict[str, Any]]:
        """Publish loads of unexpired jobs ``minion_id`` was expected to run and has not returned."""
        now = time.time() if now is None else now
        rows = self._read(
            f"read pending jobs of {minion_id}",
            "SELECT j.load FROM jobs j JOIN minion_states s ON s.jid = j.jid WHERE s.minion_id = ? "
            f"AND s.state IN {_OPEN_STATES} AND j.expires > ? ORDER BY j.jid", (minion_id, now))
        return [_unpack(row[0]) for row in rows]

    def expire(self, now: float | None = None) -> list[tuple[str, str]]:
        """Mark targets of jobs past their TTL without a return as ``expired``; returns the (jid, id) pairs."""
        now = time.time() if now is None else now
        with self._write("expire jobs") as conn:
            pairs = [(r[0], r[1]) for r in conn.execute(
                "SELECT s.jid, s.minion_id FROM minion_states s JOIN jobs j ON s.jid = j.jid "
                f"WHERE j.expires <= ? AND s.state IN {_OPEN_STATES}", (now,))]
            conn.executemany("UPDATE minion_states SET state = 'expired', since = ? "
                             "WHERE jid = ? AND minion_id = ?", [(now, j, m) for j, m in pairs])
        return pairs

    def prune(self, keep_jobs_seconds: float, now: float | None = None) -> int:
        """Remove jobs older than ``keep_jobs_seconds`` whose TTL has passed, with their
        returns and states, and stray returns as old; return how many jids went."""
        now = time.time() if now is None else now
        cutoff = now - keep_jobs_seconds
        old_jobs = "SELECT jid FROM jobs WHERE created < :cutoff AND expires <= :now"
        stray = ("SELECT DISTINCT jid FROM returns WHERE received < :cutoff "
                 "AND jid NOT IN (SELECT jid FROM jobs)")
        params = {"cutoff": cutoff, "now": now}
        with self._write("prune old jobs") as conn:
            gone = [(row[0],) for row in conn.execute(f"{old_jobs} UNION {stray}", params)]
            for table in ("returns", "minion_states", "jobs"):
                conn.executemany(f"DELETE FROM {table} WHERE jid = ?", gone)
            conn.execute("DELETE FROM minion_states WHERE since < :cutoff "
                         "AND jid NOT IN (SELECT jid FROM jobs)", params)
        return len(gone)

    # -- reads ---------------------------------------------------------------------------

    def get_job(self, jid: str) -> Job | None:
        """The job stored by ``add_job``, or None."""
        rows = self._read(f"read job {jid}", "SELECT * FROM jobs WHERE jid = ?", (jid,))
        if not rows:
            return None
        jid_, fun, arg, tgt, tgt_type, user, load, minions, created, expires = rows[0]
        return Job(jid_, fun, _unpack(arg), _unpack(tgt), tgt_type, user, _unpack(load),
                   _unpack(minions), created, expires)

    def has_jid(self, jid: str) -> bool:
        """True if a job or any return is stored under ``jid``."""
        return bool(self._read(f"look up job {jid}", "SELECT 1 FROM jobs WHERE jid = ? UNION ALL "
                               "SELECT 1 FROM returns WHERE jid = ? LIMIT 1", (jid, jid)))

    def get_returns(self, jid: str) -> dict[str, dict[str, Any]]:
        """``{minion id: return load}`` for ``jid``, sorted by minion id."""
        rows = self._read(f"read the returns of job {jid}", "SELECT minion_id, load FROM returns "
                          "WHERE jid = ? ORDER BY minion_id", (jid,))
        return {minion: _unpack(load) for minion, load in rows}

    def duplicate_returns(self, jid: str | None = None) -> int:
        """How many duplicate returns were ignored, for ``jid`` or in total."""
        sql = "SELECT COALESCE(SUM(duplicates), 0) FROM returns"
        if jid is None:
            return int(self._read("count duplicate returns", sql)[0][0])
        return int(self._read("count duplicate returns", sql + " WHERE jid = ?", (jid,))[0][0])

    def lookup_jid(self, jid: str, missing: bool = False) -> dict[str, Any]:
        """Salt's ``jobs.lookup_jid``: ``{minion id: return value}``; with ``missing``,
        expected minions without a return map to ``"Minion did not return"``."""
        result = {m: load.get("return") for m, load in self.get_returns(jid).items()}
        job = self.get_job(jid) if missing else None
        for minion in job.minions if job else []:
            result.setdefault(minion, "Minion did not return")
        return result

    def job_status(self, jid: str) -> dict[str, dict[str, Any]]:
        """``{minion id: {"state": ..., "since": epoch seconds}}`` for every target of ``jid``."""
        rows = self._read(f"read the states of job {jid}", "SELECT minion_id, state, since FROM "
                          "minion_states WHERE jid = ? ORDER BY minion_id", (jid,))
        return {minion: {"state": state, "since": since} for minion, state, since in rows}

    def list_jobs(self, limit: int | None = None, search_fun: str | Sequence[str] | None = None,
                  search_target: str | Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
        """Salt's ``jobs.list_jobs``: ``{jid: {Function, Arguments, Target, Target-type, User,
        StartTime}}``, oldest first, the newest ``limit`` jobs that match.

        ``search_fun`` / ``search_target`` are globs (or lists of globs, any may match);
        a list target matches if any of its items does. Returns stored under a jid with
        no job (minion-originated jobs) are listed with the returning minions as target.
        """
        entries = self._entries()
        chosen = [jid for jid in sorted(entries, reverse=True)
                  if _matches(entries[jid]["Function"], search_fun)
                  and _matches(entries[jid]["Target"], search_target)][:limit]
        return {jid: entries[jid] for jid in reversed(chosen)}

    def describe(self, jid: str) -> dict[str, Any] | None:
        """The ``list_jobs`` entry of ``jid``, or None if nothing is stored under it."""
        return self._entries(jid).get(jid)

    def _entries(self, jid: str | None = None) -> dict[str, dict[str, Any]]:
        where, params = ("WHERE jid = ?", (jid,)) if jid is not None else ("", ())
        entries: dict[str, dict[str, Any]] = {}
        for jid_, fun, arg, tgt, tgt_type, user in self._read(
                "list jobs", f"SELECT jid, fun, arg, tgt, tgt_type, user FROM jobs {where}", params):
            entries[jid_] = _entry(jid_, fun, _unpack(arg), _unpack(tgt), tgt_type, user)
        stray: dict[str, list[tuple[str, bytes]]] = {}
        for jid_, minion, load in self._read(
                "list jobs", f"SELECT jid, minion_id, load FROM returns {where} "
                f"{'AND' if where else 'WHERE'} jid NOT IN (SELECT jid FROM jobs) "
                "ORDER BY jid, minion_id", params):
            stray.setdefault(jid_, []).append((minion, load))
        for jid_, rows in stray.items():
            data = _unpack(rows[0][1])
            minions = [minion for minion, _ in rows]
            entries[jid_] = _entry(jid_, str(data.get("fun", "")), data.get("fun_args", []),
                                   minions[0] if len(minions) == 1 else minions,
                                   "glob" if len(minions) == 1 else "list", str(data.get("user", "")))
        return entries

def return_state(load: Mapping[str, Any]) -> str:
    """The state a return puts its target in: returned, failed or interrupted."""
    if load.get("interrupted"):
        return "interrupted"
    retcode = load.get("retcode", 0)
    if load.get("success") is False or (isinstance(retcode, int) and retcode != 0):
        return "failed"
    return "returned"


def _entry(jid: str, fun: str, arg: Any, tgt: Any, tgt_type: str, user: str) -> dict[str, Any]:
    return {"Function": fun, "Arguments": arg, "Target": tgt, "Target-type": tgt_type,
            "User": user, "StartTime": jid_start_time(jid)}


def _matches(value: Any, patterns: str | Sequence[str] | None) -> bool:
    if patterns is None:
        return True
    globs = [patterns] if isinstance(patterns, str) else list(patterns)
    values = value if isinstance(value, list) else [value]
    return any(fnmatch.fnmatch(str(v), g) for v in values for g in globs)
