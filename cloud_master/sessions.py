"""Per-minion session keys (request protocol v3), kept across master restarts.

Salt keeps them as ``cachedir/sessions/<id>``; so do we. A key is made at the
minion's first authentication and reused until the minion's key is removed.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from edge_minion.protocol.crypticle import generate_key_string

log = logging.getLogger(__name__)


class SessionKeys:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._keys: dict[str, str] = {}

    def get(self, minion_id: str) -> str | None:
        """The session key of an authenticated minion (None if it never authenticated)."""
        key = self._keys.get(minion_id)
        if key is None:
            path = self.directory / minion_id
            try:
                key = path.read_text().strip() or None
            except FileNotFoundError:
                return None
            except OSError as exc:
                log.warning("cannot read session key %s: %s", path, exc)
                return None
            if key:
                self._keys[minion_id] = key
        return key

    def get_or_create(self, minion_id: str) -> str:
        key = self.get(minion_id)
        if key is None:
            key = generate_key_string()
            path = self.directory / minion_id
            tmp = path.with_name(f".{minion_id}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, key.encode())
            finally:
                os.close(fd)
            os.replace(tmp, path)
            self._keys[minion_id] = key
        return key

    def forget(self, minion_id: str) -> None:
        self._keys.pop(minion_id, None)
        try:
            (self.directory / minion_id).unlink()
        except FileNotFoundError:
            pass
