"""One live connection to one master: authenticate, subscribe, heartbeat, send.

``MasterLink.serve`` returns (or raises ChannelError) when the link is lost;
the caller backs off and builds a new link. Authentication failures of the
decryption kind (a rotated or restarted master) re-authenticate in place after
a random delay, so a fleet does not stampede the master.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import zmq
import zmq.asyncio
from zmq.utils.monitor import parse_monitor_message

from edge_minion.channel import RequestChannel, tcp_url, tune_socket
from edge_minion.errors import AuthRejected, ChannelError, MasterKeyMismatch
from edge_minion.protocol.errors import AuthenticationFailed, RemoteProtocolError, ReplayedMessage
from edge_minion.protocol.messages import AuthAccepted, AuthFull, AuthPending
from edge_minion.protocol.messages import AuthRejected as Rejected
from edge_minion.protocol.minion_session import BadLoad, MasterKeyChanged, MinionSession
from edge_minion.tasks import until_first_failure

log = logging.getLogger(__name__)

PublishHandler = Callable[[dict[str, Any]], Awaitable[None]]
Resubscribed = Callable[[], Awaitable[None]]


class MasterLink:
    def __init__(self, zctx: zmq.asyncio.Context, session: MinionSession, host: str, port: int, *,
                 auth_timeout: float, request_timeout: float, heartbeat_s: float,
                 acceptance_wait: float, acceptance_wait_max: float, reauth_delay: float,
                 publish_port: int | None = None, rng: random.Random | None = None) -> None:
        self.session = session
        self.host = host
        self.channel = RequestChannel(zctx, host, port, heartbeat_s)
        self._zctx = zctx
        self.auth_timeout = auth_timeout
        self.request_timeout = request_timeout
        self.heartbeat_s = heartbeat_s
        self.acceptance_wait = acceptance_wait
        self.acceptance_wait_max = acceptance_wait_max
        self.reauth_delay = reauth_delay
        self.publish_port = publish_port
        self._rng = rng or random.Random()
        self._reauth_lock = asyncio.Lock()
        self.accepted: AuthAccepted | None = None
        self.counters: dict[str, int] = {}

    def _count(self, key: str) -> None:
        self.counters[key] = self.counters.get(key, 0) + 1

    # ---- authentication --------------------------------------------------------------------

    async def authenticate(self) -> AuthAccepted:
        """Sign in, waiting while the key is pending; raises on rejection or a changed master key."""
        wait = self.acceptance_wait
        while True:
            reply = await self.channel.request(self.session.auth_request(), self.auth_timeout)
            try:
                outcome = self.session.handle_auth_reply(reply)
            except MasterKeyChanged as exc:
                raise MasterKeyMismatch(str(exc)) from exc
            except BadLoad as exc:
                raise ChannelError(f"master refused our auth request: {exc}") from exc
            if isinstance(outcome, AuthAccepted):
                self.accepted = outcome
                return outcome
            if isinstance(outcome, Rejected):
                raise AuthRejected(f"the master at {self.host} rejected our key")
            if isinstance(outcome, AuthFull):
                raise ChannelError(f"the master at {self.host} is full (max_minions)")
            assert isinstance(outcome, AuthPending)
            delay = self._rng.uniform(0.5 * wait, wait)
            log.info("key pending acceptance on %s; retrying in %.1fs (fleet-key -a %s)",
                     self.host, delay, self.session.minion_id)
            await asyncio.sleep(delay)
            wait = min(wait * 2, max(self.acceptance_wait_max, self.acceptance_wait))

    async def reauthenticate(self, seen_aes: str | None) -> None:
        """Re-auth after a decrypt failure: once, after a random delay, shared by concurrent callers."""
        async with self._reauth_lock:
            if self.session.aes is not None and self.session.aes.key_string != seen_aes:
                return  # another caller already re-authenticated
            delay = self._rng.uniform(0, self.reauth_delay)
            log.info("master key changed; re-authenticating in %.1fs", delay)
            await asyncio.sleep(delay)
            await self.authenticate()
            log.info("re-authenticated with master %s", self.host)

    # ---- requests --------------------------------------------------------------------------

    async def request(self, load: dict[str, Any], timeout: float | None = None) -> Any:
        """An encrypted request; a stale session ("bad load", bad HMAC) re-auths and resends once."""
        for attempt in (1, 2):
            frame, nonce = self.session.request(load, time.time())
            reply = await self.channel.request(frame, timeout or self.request_timeout)
            try:
                return self.session.handle_reply(reply, nonce)
            except (BadLoad, AuthenticationFailed) as exc:
                self._count("reply-auth")
                if attempt == 2:
                    raise ChannelError(f"master keeps refusing our requests: {exc}") from exc
                await self.reauthenticate(self.session.aes.key_string if self.session.aes else None)
        raise AssertionError("unreachable")

    # ---- the publish stream ----------------------------------------------------------------

    async def listen(self, on_publish: PublishHandler, on_resubscribed: Resubscribed | None = None) -> None:
        """Receive publishes until cancelled; decrypt failures trigger a delayed re-auth.

        ``on_resubscribed`` is awaited each time the publish stream reconnects after its
        first connection: publishes sent while it was down are gone, even when the link
        dropped for less than a heartbeat and the request socket never noticed.
        """
        assert self.accepted is not None
        port = self.publish_port or self.accepted.publish_port
        sub = self._zctx.socket(zmq.SUB)
        tune_socket(sub, self.heartbeat_s)
        sub.setsockopt(zmq.RECONNECT_IVL, 1000)
        sub.setsockopt(zmq.RECONNECT_IVL_MAX, 10000)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        tasks = [asyncio.ensure_future(self._receive(sub, on_publish))]
        if on_resubscribed is not None:
            monitor = sub.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
            tasks.append(asyncio.ensure_future(self._watch_reconnects(monitor, on_resubscribed)))
        sub.connect(tcp_url(self.host, port))
        try:
            await until_first_failure(tasks)
        finally:
            if on_resubscribed is not None:
                sub.disable_monitor()
                monitor.close(linger=0)
            sub.close(linger=0)

    async def _receive(self, sub: zmq.asyncio.Socket, on_publish: PublishHandler) -> None:
        while True:
            frames = await sub.recv_multipart()
            load = await self._open_publish(frames)
            if load is not None:
                await on_publish(load)

    async def _watch_reconnects(self, monitor: zmq.asyncio.Socket, on_resubscribed: Resubscribed) -> None:
        connections = 0
        while True:
            parse_monitor_message(await monitor.recv_multipart())
            connections += 1
            if connections > 1:
                self._count("resubscribed")
                log.info("publish stream reconnected; asking the master for jobs sent meanwhile")
                await asyncio.sleep(0.05)  # let the subscription reach the master first
                await on_resubscribed()

    async def _open_publish(self, frames: list[bytes]) -> dict[str, Any] | None:
        for attempt in (1, 2):
            seen = self.session.aes.key_string if self.session.aes else None
            try:
                return self.session.handle_publish(frames)
            except ReplayedMessage:
                self._count("replayed")
                log.warning("dropped a replayed publish")
                return None
            except AuthenticationFailed:
                if attempt == 2:
                    self._count("undecryptable")
                    log.warning("dropped a publish that fails authentication even after re-auth")
                    return None
                await self.reauthenticate(seen)
            except RemoteProtocolError as exc:
                self._count(exc.reason)
                log.warning("dropped a malformed publish: %s", exc)
                return None
        return None

    def close(self) -> None:
        self.channel.close()
