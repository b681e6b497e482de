"""Claim tokens: limited, expiring permissions for new devices to enrol themselves.

An operator creates a token on the master (``fleet-key --new-claim-token``) and
writes it into an SD-card image (``fleet-image prepare --claim-token``). A minion
presents it at its first ``_auth`` as the autosign grain ``edgefleet_claim_token``
(with its ``serialnumber`` grain); the master then accepts the new key if
:meth:`ClaimStore.check_and_consume` says so, and counts one use.

Storage: SQLite at ``cache_dir/claims.sqlite``. Only ``sha256(token)`` is kept:
tokens are 192-bit random strings, so a fast hash is enough, and whoever reads the
database cannot enrol a device with it. The token itself is shown once, at creation.
Every check-and-consume runs in one ``BEGIN IMMEDIATE`` transaction, so the
master and the CLI (separate processes) can never count past ``max_uses``.

A token is refused, with a :class:`ClaimDecision` reason, when it is unknown
(never issued, or revoked), expired, used up, or when the device's serial number
does not match the token's ``serial_pattern`` (a glob, case-insensitive).
"""

from __future__ import annotations

import enum
import fnmatch
import hashlib
import json
import re
import secrets
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cloud_master.errors import MasterError

__all__ = ["CLAIM_GRAIN", "SERIAL_GRAIN", "ClaimDecision", "ClaimError", "ClaimReason", "ClaimStore",
           "ClaimToken", "parse_duration", "parse_grains"]

#: The autosign grain that carries the token, and the one that carries the serial.
CLAIM_GRAIN = "edgefleet_claim_token"
SERIAL_GRAIN = "serialnumber"
TOKEN_PREFIX = "efc_"

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS tokens (
        id TEXT PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        created REAL NOT NULL,
        expires REAL,
        max_uses INTEGER NOT NULL,
        uses INTEGER NOT NULL DEFAULT 0,
        serial_pattern TEXT,
        grains TEXT NOT NULL,
        revoked INTEGER NOT NULL DEFAULT 0,
        note TEXT NOT NULL DEFAULT ''
    )""",
    """CREATE TABLE IF NOT EXISTS claims (
        token_id TEXT NOT NULL,
        minion_id TEXT NOT NULL,
        serial TEXT,
        at REAL NOT NULL
    )""",
)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")


class ClaimError(MasterError):
    """The claim-token store cannot be read or written, or an argument is invalid."""


class ClaimReason(enum.StrEnum):
    OK = "ok"
    UNKNOWN = "unknown token"
    REVOKED = "revoked"
    EXPIRED = "expired"
    USED_UP = "used up"
    SERIAL_MISMATCH = "serial mismatch"


@dataclass(frozen=True)
class ClaimDecision:
    """Outcome of :meth:`ClaimStore.check_and_consume`; ``grains`` only when accepted."""

    reason: ClaimReason
    token_id: str | None = None
    grains: Mapping[str, Any] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return self.reason is ClaimReason.OK


@dataclass(frozen=True)
class ClaimToken:
    """One token as listed (never the secret itself)."""

    id: str
    created: float
    expires: float | None
    max_uses: int
    uses: int
    serial_pattern: str | None
    grains: Mapping[str, Any]
    revoked: bool
    claimed_by: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "created": self.created, "expires": self.expires, "max_uses": self.max_uses,
                "uses": self.uses, "serial_pattern": self.serial_pattern, "grains": dict(self.grains),
                "revoked": self.revoked, "claimed_by": list(self.claimed_by)}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.strip().encode("utf-8")).hexdigest()


def parse_duration(text: str) -> float | None:
    """``"7d"``, ``"12h"``, ``"30m"``, ``"90s"``, ``"2w"`` or a bare number of seconds -> seconds;
    ``"never"`` -> None.

    Raises:
        ClaimError: anything else, or zero.
    """
    if text.strip().lower() in ("never", "none"):
        return None
    match = _DURATION.match(text)
    if match is None or int(match.group(1)) == 0:
        raise ClaimError(f"invalid duration {text!r}: use e.g. 30m, 12h, 7d, 2w or never")
    return float(int(match.group(1)) * _UNITS[match.group(2) or "s"])


def parse_grains(pairs: Sequence[str]) -> dict[str, str]:
    """``["site=berlin", "role=sensor"]`` -> ``{"site": "berlin", "role": "sensor"}`` (values are strings).

    Raises:
        ClaimError: an item without ``=`` or with an empty key.
    """
    grains: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ClaimError(f"invalid grain {pair!r}: expected key=value")
        grains[key.strip()] = value
    return grains


class ClaimStore:
    """The token table in ``path`` (created with its directory); one connection per call."""

    def __init__(self, path: Path, busy_timeout: float = 10.0) -> None:
        self.path = Path(path)
        self._busy_timeout = busy_timeout
        with self._transaction("create the claim-token tables") as conn:
            for statement in _SCHEMA:
                conn.execute(statement)

    @classmethod
    def for_cache_dir(cls, cache_dir: Path) -> ClaimStore:
        return cls(Path(cache_dir) / "claims.sqlite")

    @contextmanager
    def _transaction(self, action: str) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise ClaimError(f"claim tokens {self.path}: cannot {action}: {exc}") from exc
        try:
            self.path.chmod(0o600)
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.execute("COMMIT")
        except (OSError, sqlite3.Error) as exc:
            raise ClaimError(f"claim tokens {self.path}: cannot {action}: {exc}") from exc
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.close()

    # ---- operator side -------------------------------------------------------------------

    def create(self, *, max_uses: int = 1, expires_in: float | None = 7 * 86400,
               serial_pattern: str | None = None, grains: Mapping[str, Any] | None = None,
               now: float | None = None) -> tuple[str, ClaimToken]:
        """A new token: ``(secret, listing)``. The secret is not stored and cannot be shown again.

        Raises:
            ClaimError: ``max_uses`` < 1, or the write failed.
        """
        if max_uses < 1:
            raise ClaimError(f"--uses must be at least 1, not {max_uses}")
        now = time.time() if now is None else now
        secret = TOKEN_PREFIX + secrets.token_urlsafe(24)
        digest = token_hash(secret)
        token = ClaimToken(id=digest[:12], created=now, expires=None if expires_in is None else now + expires_in,
                           max_uses=max_uses, uses=0, serial_pattern=serial_pattern or None,
                           grains=dict(grains or {}), revoked=False)
        with self._transaction("create a token") as conn:
            conn.execute("INSERT INTO tokens (id, hash, created, expires, max_uses, serial_pattern, grains) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (token.id, digest, token.created, token.expires, token.max_uses,
                          token.serial_pattern, json.dumps(dict(token.grains), sort_keys=True)))
        return secret, token

    def list(self) -> list[ClaimToken]:
        with self._transaction("list tokens") as conn:
            rows = conn.execute("SELECT id, created, expires, max_uses, uses, serial_pattern, grains, revoked "
                                "FROM tokens ORDER BY created, id").fetchall()
            claimed: dict[str, list[str]] = {}
            for token_id, minion_id in conn.execute("SELECT token_id, minion_id FROM claims ORDER BY at"):
                claimed.setdefault(token_id, []).append(minion_id)
        return [ClaimToken(id=r[0], created=r[1], expires=r[2], max_uses=r[3], uses=r[4], serial_pattern=r[5],
                           grains=json.loads(r[6]), revoked=bool(r[7]), claimed_by=tuple(claimed.get(r[0], ())))
                for r in rows]

    def revoke(self, token_id: str) -> bool:
        """Revoke the token whose id (or id prefix, if unique) is ``token_id``; False if none matched.

        Raises:
            ClaimError: the prefix matches several tokens, or the write failed.
        """
        if not re.fullmatch(r"[0-9a-f]{1,64}", token_id):
            raise ClaimError(f"invalid token id {token_id!r}: expected hex digits as --list-claim-tokens shows")
        with self._transaction("revoke a token") as conn:
            ids = [r[0] for r in conn.execute("SELECT id FROM tokens WHERE id LIKE ? || '%'", (token_id,))]
            if len(ids) > 1:
                raise ClaimError(f"token id {token_id!r} is ambiguous: {', '.join(ids)}")
            if not ids:
                return False
            conn.execute("UPDATE tokens SET revoked = 1 WHERE id = ?", (ids[0],))
        return True

    # ---- master side ---------------------------------------------------------------------

    def check_and_consume(self, minion_id: str, presented_token: str, serial: str | None,
                          now: float | None = None) -> ClaimDecision:
        """Decide on a token presented by ``minion_id``; an accepted token loses one use."""
        now = time.time() if now is None else now
        with self._transaction(f"check the claim token of {minion_id}") as conn:
            row = conn.execute("SELECT id, expires, max_uses, uses, serial_pattern, grains, revoked "
                               "FROM tokens WHERE hash = ?", (token_hash(presented_token),)).fetchone()
            if row is None:
                return ClaimDecision(ClaimReason.UNKNOWN)
            token_id, expires, max_uses, uses, pattern, grains, revoked = row
            if revoked:
                return ClaimDecision(ClaimReason.REVOKED, token_id)
            if expires is not None and now >= expires:
                return ClaimDecision(ClaimReason.EXPIRED, token_id)
            if uses >= max_uses:
                return ClaimDecision(ClaimReason.USED_UP, token_id)
            if pattern and not (serial and fnmatch.fnmatch(serial.strip().lower(), pattern.strip().lower())):
                return ClaimDecision(ClaimReason.SERIAL_MISMATCH, token_id)
            conn.execute("UPDATE tokens SET uses = uses + 1 WHERE id = ?", (token_id,))
            conn.execute("INSERT INTO claims (token_id, minion_id, serial, at) VALUES (?, ?, ?, ?)",
                         (token_id, minion_id, serial, now))
        return ClaimDecision(ClaimReason.OK, token_id, json.loads(grains))
