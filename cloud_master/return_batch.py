"""Returns written to the job cache in batches, acknowledged only once committed.

A minion deletes a return from its outbox when the master answers, so the
answer goes out after the row is in SQLite. Under a burst, returns that arrive
while one batch is being written form the next batch: one transaction for
hundreds of returns instead of one each.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from edge_minion.protocol.master_session import BAD_LOAD_FRAME
from edge_minion.protocol.messages import AesRequest

if TYPE_CHECKING:
    from cloud_master.server import MasterServer

log = logging.getLogger(__name__)


@dataclass
class _Pending:
    head: list[bytes]
    req: AesRequest
    session_key: str
    jid: str
    load: dict[str, Any]


class ReturnBatcher:
    def __init__(self, server: MasterServer, max_batch: int = 2000) -> None:
        self._server = server
        self._queue: list[_Pending] = []
        self._writing = False
        self._max_batch = max_batch

    def add(self, head: list[bytes], req: AesRequest, session_key: str) -> None:
        load = dict(req.load)
        load.pop("tok", None)
        load.pop("nonce", None)
        jid = self._server._return_jid(load)
        self._queue.append(_Pending(head, req, session_key, jid, load))
        if not self._writing:
            self._writing = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
        if not batch:
            self._writing = False
            return
        server = self._server
        loop = asyncio.get_running_loop()
        items = [(p.jid, p.req.minion_id, p.load) for p in batch]
        future = loop.run_in_executor(server._writer, server.jobcache.add_returns, items)

        def written(f: asyncio.Future[list[bool]]) -> None:
            try:
                stored = f.result()
            except Exception:
                # Not stored: answer "bad load" so each minion keeps the return and resends it.
                log.exception("could not store %d returns; minions will resend", len(batch))
                for p in batch:
                    server._reply(p.head, BAD_LOAD_FRAME)
            else:
                aes_reply, reply = server.protocol.aes_reply, server._reply
                for p in batch:
                    reply(p.head, aes_reply(p.req, True, p.session_key))
                server._returned_many([(p.jid, p.req.minion_id, p.load, ok)
                                       for p, ok in zip(batch, stored, strict=True)])
            self._flush()

        future.add_done_callback(written)
