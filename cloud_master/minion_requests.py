"""What the master does with each encrypted command a minion sends (Salt's AESFuncs).

Only the commands listed in :data:`COMMANDS` are served; anything else is
refused and counted. Handlers run on the master's event loop and push slow
work (SQLite) to the writer thread.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from cloud_master.grains_cache import GrainsCache
from cloud_master.presence import Presence
from edge_minion.protocol.messages import AesRequest

log = logging.getLogger(__name__)

#: Reply kinds: ("aes", obj) encrypted with the session key, ("private", obj) Salt's send_private.
Reply = tuple[str, Any]
ReturnSink = Callable[[str, dict[str, Any]], Awaitable[None]]
Offload = Callable[..., Awaitable[Any]]


class MinionRequests:
    def __init__(self, grains: GrainsCache, presence: Presence, store_return: ReturnSink,
                 offload: Offload, aes_id: Callable[[], str], on_grains: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.time,
                 pending: Callable[[str], Awaitable[list[dict[str, Any]]]] | None = None) -> None:
        self._pending = pending
        self.grains = grains
        self.presence = presence
        self._store_return = store_return
        self._offload = offload
        self._aes_id = aes_id
        self._on_grains = on_grains
        self._clock = clock
        self.counters: dict[str, int] = {}

    async def handle(self, req: AesRequest) -> Reply:
        handler = COMMANDS.get(req.cmd)
        if handler is None:
            self.counters["unknown-cmd"] = self.counters.get("unknown-cmd", 0) + 1
            log.warning("minion %s sent unknown command %r", req.minion_id, req.cmd)
            return ("aes", False)
        return await handler(self, req)

    async def _return(self, req: AesRequest) -> Reply:
        load = dict(req.load)
        for key in ("tok", "nonce"):
            load.pop(key, None)
        if "return" not in load or "jid" not in load:
            log.warning("return from %s lacks jid or return", req.minion_id)
            return ("aes", False)
        await self._store_return(req.minion_id, load)
        return ("aes", True)

    async def _pillar(self, req: AesRequest) -> Reply:
        grains = req.load.get("grains")
        if isinstance(grains, dict):
            grains = dict(grains)
            grains["id"] = req.minion_id
            await self._offload(self.grains.store, req.minion_id, grains)
            if self._on_grains is not None:
                self._on_grains(req.minion_id)
        return ("private", {})

    async def _minion_event(self, req: AesRequest) -> Reply:
        tag = req.load.get("tag")
        data = req.load.get("data")
        heartbeat = tag == "minion_ping" and isinstance(data, dict) and bool(data.get("edgefleet"))
        self.presence.seen(req.minion_id, self._clock(), heartbeat=heartbeat)
        if heartbeat:
            return ("aes", {"aes_id": self._aes_id()})
        return ("aes", True)

    async def _pending_jobs(self, req: AesRequest) -> Reply:
        """edgefleet minions ask after each sign-in for jobs held while they were away."""
        # Only edgefleet minions ask this, and they heartbeat: judge presence by heartbeats from
        # now on, or one that dies before its first heartbeat would count as connected forever.
        self.presence.seen(req.minion_id, self._clock(), heartbeat=True)
        if self._pending is None:
            return ("aes", [])
        return ("aes", await self._pending(req.minion_id))

    async def _ok(self, req: AesRequest) -> Reply:
        return ("aes", True)

    async def _empty_list(self, req: AesRequest) -> Reply:
        return ("aes", [])

    async def _empty_dict(self, req: AesRequest) -> Reply:
        return ("aes", {})


def aes_fingerprint(key_string: str) -> str:
    """A short public identifier of the shared key (lets a minion notice a rotation early)."""
    return hashlib.sha256(key_string.encode()).hexdigest()[:16]


COMMANDS: dict[str, Callable[[MinionRequests, AesRequest], Awaitable[Reply]]] = {
    "_return": MinionRequests._return,
    "_pillar": MinionRequests._pillar,
    "_minion_event": MinionRequests._minion_event,
    "_edgefleet_pending": MinionRequests._pending_jobs,
    "_register_resources": MinionRequests._ok,
    "_mine": MinionRequests._ok,
    "_mine_delete": MinionRequests._ok,
    "_mine_flush": MinionRequests._ok,
    "_mine_get": MinionRequests._empty_dict,
    "_master_opts": MinionRequests._empty_dict,
    "_master_tops": MinionRequests._empty_dict,
    "_file_envs": MinionRequests._empty_list,
    "_file_list": MinionRequests._empty_list,
    "_file_list_emptydirs": MinionRequests._empty_list,
    "_dir_list": MinionRequests._empty_list,
    "_symlink_list": MinionRequests._empty_dict,
    "_file_hash": MinionRequests._empty_dict,
    "_file_find": MinionRequests._empty_dict,
}
