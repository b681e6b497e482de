"""Who is connected, judged from traffic, never from the kernel's TCP table.

Behind carrier-grade NAT the TCP peer address tells nothing about the device,
so presence is what the master has heard: a minion is *connected* when it has
authenticated with this master process, and, if it sends edgefleet heartbeats,
its last one is younger than ``timeout``. Stock salt-minions send no
heartbeats; for them, having authenticated since the master started is the
evidence (they re-authenticate at once after a master restart).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class Presence:
    timeout: float = 90.0
    authed: dict[str, float] = field(default_factory=dict)
    last_seen: dict[str, float] = field(default_factory=dict)
    heartbeating: set[str] = field(default_factory=set)

    def authenticated(self, minion_id: str, now: float) -> None:
        self.authed[minion_id] = now
        self.last_seen[minion_id] = now

    def seen(self, minion_id: str, now: float, heartbeat: bool = False) -> None:
        self.last_seen[minion_id] = now
        self.authed.setdefault(minion_id, now)
        if heartbeat:
            self.heartbeating.add(minion_id)

    def forget(self, minion_id: str) -> None:
        self.authed.pop(minion_id, None)
        self.last_seen.pop(minion_id, None)
        self.heartbeating.discard(minion_id)

    def connected(self, minion_id: str, now: float) -> bool:
        if minion_id not in self.authed:
            return False
        if minion_id in self.heartbeating:
            return now - self.last_seen.get(minion_id, 0.0) <= self.timeout
        return True

    def split(self, minion_ids: Iterable[str], now: float) -> tuple[list[str], list[str]]:
        """(connected, not connected), each sorted."""
        up: list[str] = []
        down: list[str] = []
        for mid in minion_ids:
            (up if self.connected(mid, now) else down).append(mid)
        return sorted(up), sorted(down)
