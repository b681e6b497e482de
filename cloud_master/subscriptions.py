"""Which CLI wants the returns of which job, and sending them over the control socket."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from edge_minion.protocol import payload

log = logging.getLogger(__name__)

#: A CLI that never unsubscribes (killed) is forgotten after this many seconds.
SUBSCRIPTION_TTL = 24 * 3600.0

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
        subs = self._subs.get(jid)
        if not subs or self._send is None:
            return
        data = payload.dumps(event)
        now = time.time()
        for ident, expires in list(subs.items()):
            if expires < now:
                self.remove(jid, ident)
                continue
            self._send([ident, data])
