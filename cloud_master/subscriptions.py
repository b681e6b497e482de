"""Which CLI wants the returns of which job, and sending them over the control socket."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from typing import Any

import zmq
import zmq.asyncio

from edge_minion.protocol import payload

log = logging.getLogger(__name__)

#: A CLI that never unsubscribes (killed) is forgotten after this many seconds.
SUBSCRIPTION_TTL = 24 * 3600.0


class Subscriptions:
    def __init__(self) -> None:
        self._subs: dict[str, dict[bytes, float]] = defaultdict(dict)
        self._sock: zmq.asyncio.Socket | None = None

    def attach(self, sock: zmq.asyncio.Socket) -> None:
        self._sock = sock

    def add(self, jid: str, ident: bytes, now: float | None = None) -> None:
        self._subs[jid][ident] = (now or time.time()) + SUBSCRIPTION_TTL

    def remove(self, jid: str, ident: bytes) -> None:
        subs = self._subs.get(jid)
        if subs is not None:
            subs.pop(ident, None)
            if not subs:
                del self._subs[jid]

    async def deliver(self, jid: str, event: dict[str, Any]) -> None:
        subs = self._subs.get(jid)
        if not subs or self._sock is None:
            return
        data = payload.dumps(event)
        now = time.time()
        for ident, expires in list(subs.items()):
            if expires < now:
                self.remove(jid, ident)
                continue
            try:
                await self._sock.send_multipart([ident, data], flags=zmq.NOBLOCK)
            except zmq.ZMQError as exc:
                log.debug("subscriber gone for %s: %s", jid, exc)
                self.remove(jid, ident)
