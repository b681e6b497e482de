"""Which CLI wants the returns of which job, and sending them over the control socket."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from edge_minion.protocol import payload

log = logging.getLogger(__name__)

#: A CLI that never unsubscribes (killed) is forgotten after this many seconds.
SUBSCRIPTION_TTL = 24 * 3600.0

#: Events for one CLI go out in messages of about this many bytes (at least one event each).
BATCH_BYTES = 256 * 1024

Sender = Callable[[list[bytes]], None]


class Subscriptions:
    def __init__(self) -> None:
        self._subs: dict[str, dict[bytes, float]] = defaultdict(dict)
        self._send: Sender | None = None

    def attach(self, send: Sender) -> None:
        self._send = send

    def add(self, jid: str, ident: bytes, now: float | None = None) -> None:
        self._subs[jid][ident] = (now or time.time()) + SUBSCRIPTION_TTL

    def remove(self, jid: str, ident: bytes) -> None:
        subs = self._subs.get(jid)
        if subs is not None:
            subs.pop(ident, None)
            if not subs:
                del self._subs[jid]

    def deliver_soon(self, jid: str, event: dict[str, Any]) -> None:
        """Send ``event`` to every CLI subscribed to ``jid`` (non-blocking; a gone CLI is skipped)."""
        self.deliver_many([(jid, event)])

    def deliver_many(self, events: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """Send each ``(jid, event)`` to the CLIs subscribed to its jid, batched.

        A burst of returns costs one control message per CLI per
        ``BATCH_BYTES`` of events instead of one per return: the message is a
        msgpack array of event maps (``ControlClient.recv`` hands them out one by one).
        """
        if self._send is None:
            return
        now = time.time()
        per_cli: dict[bytes, list[bytes]] = {}
        for jid, event in events:
            subs = self._subs.get(jid)
            if not subs:
                continue
            data = payload.dumps(event)
            for ident, expires in list(subs.items()):
                if expires < now:
                    self.remove(jid, ident)
                    continue
                per_cli.setdefault(ident, []).append(data)
        for ident, packed in per_cli.items():
            chunk: list[bytes] = []
            size = 0
            for data in packed:
                chunk.append(data)
                size += len(data)
                if size >= BATCH_BYTES:
                    self._send([ident, payload.pack_array(chunk)])
                    chunk, size = [], 0
            if chunk:
                self._send([ident, payload.pack_array(chunk)])
