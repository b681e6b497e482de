"""The master process: an asyncio + pyzmq shell around the protocol core.

Sockets: ROUTER on ``ret_port`` (requests from minions), ROUTER on
``sock_dir/control.ipc`` (the CLIs), and a PUSH to the publish daemon, a child
process that owns the PUB socket on ``publish_port`` (publish_daemon.py says why).
Authentication (RSA work and key-file I/O) runs on its own thread so it never
stalls returns; SQLite writes run on a writer thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import zmq

from cloud_master.autosign import check_autoreject, check_autosign
from cloud_master.claims import ClaimStore
from cloud_master.config import MasterConfig
from cloud_master.control import control_path, control_url
from cloud_master.enrollment import ClaimEnrollment
from cloud_master.errors import MasterError, PublishDaemonError
from cloud_master.grains_cache import GrainsCache
from cloud_master.jobcache import JobCache
from cloud_master.keystore import Decision, KeyStore
from cloud_master.listening import tune_listening_socket
from cloud_master.minion_requests import MinionRequests, aes_fingerprint
from cloud_master.presence import Presence
from cloud_master.publish_daemon import (
    PublishDaemon,
    publish_ipc,
    raise_open_files_limit,
)
from cloud_master.publisher import Publisher
from cloud_master.request_port import RequestPort
from cloud_master.return_batch import ReturnBatcher
from cloud_master.sessions import SessionKeys
from cloud_master.subscriptions import Subscriptions
from edge_minion.protocol import crypto_openssl, payload
from edge_minion.protocol.errors import RemoteProtocolError
from edge_minion.protocol.master_session import BAD_LOAD_FRAME, MasterProtocol
from edge_minion.protocol.messages import AesEnvelope, AesRequest, AuthRequest

log = logging.getLogger(__name__)


class MasterServer:
    def __init__(self, config: MasterConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._clock = clock
        self.keystore = KeyStore(config.pki_dir, config.cache_dir)
        private_pem, _ = self.keystore.ensure_master_keys()
        self.protocol = MasterProtocol(
            private_pem.encode(), crypto_openssl, max_message_size=config.max_message_size,
            sign_publishes=config.sign_pub_messages,
        )
        self.keystore.clear_rotation()  # a fresh AES key is already a rotation
        self.sessions = SessionKeys(config.cache_dir / "sessions")
        self.jobcache = JobCache(config.jobs_db)
        self.grains = GrainsCache(config.cache_dir / "grains.sqlite")
        self.presence = Presence(config.presence_timeout)
        self.subscriptions = Subscriptions()
        self.returns = ReturnBatcher(self)
        self._tasks: set[asyncio.Task[None]] = set()
        self._port: RequestPort | None = None
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="writer")
        self._auth_pool = ThreadPoolExecutor(1, thread_name_prefix="auth")
        self._accepted_pubs: dict[str, str] = {}
        self._accepted_list: list[str] | None = None
        self._accepted_stamp = -1
        self.requests = MinionRequests(
            self.grains, self.presence, self._store_return, self._offload,
            lambda: aes_fingerprint(self.protocol.aes.key_string), clock=clock, pending=self._pending_jobs,
        )
        self.publisher = Publisher(self.presence, self._accepted, self.grains.memory,
                                   config.nodegroups, clock=clock)
        self.enrollment = ClaimEnrollment(ClaimStore.for_cache_dir(config.cache_dir), self.keystore,
                                          self.jobcache, self.publisher.new_jid, config.job_ttl, clock)
        self.counters: dict[str, int] = {}
        self._pub: zmq.Socket[bytes] | None = None
        self._publish_daemon: PublishDaemon | None = None
        self._control: RequestPort | None = None

    # ---- helpers ---------------------------------------------------------------------------

    def _count(self, key: str) -> None:
        self.counters[key] = self.counters.get(key, 0) + 1

    async def _offload(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._writer, fn, *args)

    def _accepted(self) -> list[str]:
        """Accepted minion ids, re-read only when the accepted directory changed (fleet-key)."""
        try:
            stamp = (self.config.pki_dir / "minions").stat().st_mtime_ns
        except OSError:
            stamp = -1
        if self._accepted_list is None or stamp != self._accepted_stamp:
            self._accepted_stamp = stamp
            self._accepted_list = sorted(self.keystore.list()["minions"])
        return self._accepted_list

    def _accepted_pub(self, minion_id: str) -> str | None:
        pub = self._accepted_pubs.get(minion_id)
        if pub is None:
            try:
                pub = self.keystore.get_pub(minion_id, "accepted")
            except (MasterError, KeyError, OSError):
                return None
            self._accepted_pubs[minion_id] = pub
        return pub

    def _invalidate_keys(self) -> None:
        self._accepted_pubs.clear()
        self._accepted_list = None

    # ---- the request port ------------------------------------------------------------------

    def _on_request(self, frames: list[bytes]) -> None:
        """One request frame set from the ROUTER (runs on the loop, never blocks)."""
        if len(frames) < 3 or frames[-2] != b"":
            self._count("malformed-envelope")
            return
        head, data = frames[:-1], frames[-1]
        try:
            req = self.protocol.parse_request(data)
            if isinstance(req, AuthRequest):
                self._admit_auth(head, req)
                return
            assert isinstance(req, AesEnvelope)
            session_key = self.sessions.get(req.minion_id)
            pub = self._accepted_pub(req.minion_id)
            if session_key is None or pub is None:
                self._count("no-session")
                self._reply(head, BAD_LOAD_FRAME)
                return
            opened = self.protocol.open_request(req, session_key, pub)
        except RemoteProtocolError as exc:
            self._count(exc.reason)
            log.warning("refused a request: %s", exc)
            self._reply(head, BAD_LOAD_FRAME)
            return
        self.presence.seen(opened.minion_id, self._clock())
        if opened.cmd == "_return" and "jid" in opened.load and "return" in opened.load:
            self.returns.add(head, opened, session_key)
            return
        task = asyncio.ensure_future(self._answer(head, opened, session_key, pub))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _reply(self, head: list[bytes], reply: bytes) -> None:
        assert self._port is not None
        self._port.send([*head, reply])

    def _admit_auth(self, head: list[bytes], req: AuthRequest) -> None:
        """Authentication runs on its own thread, so a sign-in storm never stalls returns."""
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._auth_pool, self._authenticate, req)

        def done(f: asyncio.Future[bytes]) -> None:
            try:
                reply = f.result()
            except Exception:
                self._count("internal-error")
                log.exception("authentication of %s failed", req.minion_id)
                reply = BAD_LOAD_FRAME
            self._reply(head, reply)

        future.add_done_callback(done)

    async def _answer(self, head: list[bytes], opened: AesRequest, session_key: str, pub: str) -> None:
        try:
            kind, obj = await self.requests.handle(opened)
            reply = (self.protocol.private_reply(opened, obj, pub) if kind == "private"
                     else self.protocol.aes_reply(opened, obj, session_key))
        except Exception:
            self._count("internal-error")
            log.exception("error while answering %s from %s", opened.cmd, opened.minion_id)
            reply = BAD_LOAD_FRAME
        self._reply(head, reply)

    def _authenticate(self, req: AuthRequest) -> bytes:
        """Salt's key decision, then the signed reply (runs on the auth thread)."""
        mid = req.minion_id
        if self.config.max_minions and mid not in self.presence.authed and \
                len(self.presence.authed) >= self.config.max_minions:
            log.warning("refused %s: max_minions %d reached", mid, self.config.max_minions)
            return self.protocol.auth_reply(req, "full")
        auto_sign = check_autosign(self.config, mid, req.autosign_grains)
        auto_reject = check_autoreject(self.config, mid)
        if not auto_sign and not auto_reject:  # a claim token, presented as an autosign grain
            auto_sign = self.enrollment.admit(mid, req.pub, req.autosign_grains)
        decision = self.keystore.decide(mid, req.pub, auto_sign, auto_reject)
        if decision is Decision.ACCEPT:
            # Read the accepted key here, on the auth thread: the request loop then opens this
            # minion's first request without touching the disk (a restart storm is 10,000 of them).
            self._accepted_pubs.pop(mid, None)
            try:
                self._accepted_pubs[mid] = self.keystore.get_pub(mid, "accepted")
            except (MasterError, KeyError, OSError):
                pass  # deleted meanwhile: the request loop finds no key and refuses
            session_key = self.sessions.get_or_create(mid)
            self.presence.authenticated(mid, self._clock())
            log.info("authenticated minion %s", mid)
            return self.protocol.auth_reply(req, "accept", session_key, self.config.publish_port)
        if decision is Decision.PENDING:
            log.info("minion %s is pending acceptance (fleet-key -a %s)", mid, mid)
            return self.protocol.auth_reply(req, "pending")
        log.warning("refused minion %s: key %s", mid, decision.value)
        return self.protocol.auth_reply(req, "reject")

    async def _store_return(self, minion_id: str, load: dict[str, Any]) -> None:
        """The slow path for a return (one at a time); the request port batches instead."""
        jid = self._return_jid(load)
        stored = await self._offload(self.jobcache.add_return, jid, minion_id, load)
        self._returned(jid, minion_id, load, stored)

    def _return_jid(self, load: dict[str, Any]) -> str:
        jid = str(load.get("jid"))
        if jid == "req":
            jid = self.publisher.new_jid()
            load["jid"] = jid
        return jid

    def _returned(self, jid: str, minion_id: str, load: dict[str, Any], stored: bool) -> None:
        self._returned_many([(jid, minion_id, load, stored)])

    def _returned_many(self, returns: list[tuple[str, str, dict[str, Any], bool]]) -> None:
        """Tell the subscribed CLIs of stored returns (duplicates, already told, are only counted)."""
        events = []
        for jid, minion_id, load, stored in returns:
            if stored:
                events.append((jid, {"event": "return", "jid": jid, "id": minion_id, "load": load}))
            else:
                self._count("duplicate-return")
        self.subscriptions.deliver_many(events)

    async def _pending_jobs(self, minion_id: str) -> list[dict[str, Any]]:
        now = self._clock()

        def take() -> list[dict[str, Any]]:
            loads = self.jobcache.pending_for(minion_id, now)
            for load in loads:
                self.jobcache.mark(str(load["jid"]), [minion_id], "delivered", now)
            return loads

        loads: list[dict[str, Any]] = await self._offload(take)
        if loads:
            log.info("delivering %d held job(s) to %s", len(loads), minion_id)
        return loads

    # ---- the control socket ----------------------------------------------------------------

    def _on_control(self, frames: list[bytes]) -> None:
        if len(frames) != 2:
            self._count("malformed-control")
            return
        task = asyncio.ensure_future(self._answer_control(frames[0], frames[1]))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer_control(self, ident: bytes, data: bytes) -> None:
        try:
            msg = payload.loads(data)
            reply = await self._control_command(ident, msg if isinstance(msg, dict) else {})
        except MasterError as exc:
            reply = {"event": "error", "message": str(exc)}
        except Exception as exc:
            log.exception("control command failed")
            reply = {"event": "error", "message": f"internal error: {exc}"}
        if reply is not None and self._control is not None:
            self._control.send([ident, payload.dumps(reply)])

    async def _control_command(self, ident: bytes, msg: dict[str, Any]) -> dict[str, Any] | None:
        cmd = msg.get("cmd")
        if cmd == "publish":
            return await self.publish(msg, ident if msg.get("subscribe", True) else None)
        if cmd == "unsubscribe":
            self.subscriptions.remove(str(msg.get("jid")), ident)
            return None
        if cmd == "presence":
            up, down = self.presence.split(self._accepted(), self._clock())
            return {"event": "presence", "up": up, "down": down}
        if cmd == "ping":
            return {"event": "pong", "counters": dict(self.counters), "accepted": len(self._accepted()),
                    "connected": sum(self.presence.connected(m, self._clock()) for m in self._accepted())}
        return {"event": "error", "message": f"unknown control command {cmd!r}"}

    async def publish(self, request: dict[str, Any], subscriber: bytes | None = None) -> dict[str, Any]:
        """Plan, store and publish one job; returns the ``published`` event."""
        await self._maybe_rotate()
        job = self.publisher.plan(request)
        if subscriber is not None:
            self.subscriptions.add(job.jid, subscriber)
        expected = job.minions + job.offline
        ttl = float(request.get("ttl") or self.config.job_ttl)
        await self._offload(self.jobcache.add_job, job.jid, job.load, expected, job.load["tgt"],
                            job.load["tgt_type"], job.load["fun"], job.load["arg"], job.load["user"], ttl)
        if job.offline:
            await self._offload(self.jobcache.mark, job.jid, job.offline, "pending-offline", self._clock())
        assert self._pub is not None
        self._pub.send(self.protocol.publish(job.load))
        return {"event": "published", "jid": job.jid, "minions": job.minions,
                "offline": job.offline, "unknown": job.unknown, "published_at": time.time()}

    # ---- maintenance -----------------------------------------------------------------------

    async def _maybe_rotate(self) -> None:
        if self.keystore.rotation_requested():
            self.protocol.rotate_aes()
            self.keystore.clear_rotation()
            self._invalidate_keys()
            accepted = set(self._accepted())
            for mid in list(self.presence.authed):
                if mid not in accepted:
                    self.presence.forget(mid)
                    self.sessions.forget(mid)
            log.info("rotated the shared AES key (a key was removed)")

    async def _maintenance(self) -> None:
        ticks = 0
        while True:
            await asyncio.sleep(1.0)
            ticks += 1
            try:
                await self._maybe_rotate()
                daemon = self._publish_daemon
                if daemon is not None and not daemon.alive():
                    log.error("the publish daemon exited; restarting it (publishes are queued meanwhile)")
                    await asyncio.to_thread(daemon.start)
                if ticks % 5 == 0:
                    expired = await self._offload(self.jobcache.expire, self._clock())
                    if expired:
                        log.info("%d held job deliveries expired", len(expired))
                if ticks % 3600 == 0:
                    await self._offload(self.jobcache.prune, self.config.keep_jobs_seconds, self._clock())
            except Exception:
                log.exception("maintenance step failed")

    # ---- lifecycle -------------------------------------------------------------------------

    def _bind(self, zctx: zmq.Context[zmq.Socket[bytes]]
              ) -> tuple[zmq.Socket[bytes], zmq.Socket[bytes], zmq.Socket[bytes]]:
        iface = self.config.interface
        host = f"[{iface}]" if ":" in iface else iface
        router = zctx.socket(zmq.ROUTER)
        pub = zctx.socket(zmq.PUSH)  # to the publish daemon, which owns the PUB socket
        control = zctx.socket(zmq.ROUTER)
        tune_listening_socket(router, ipv6=":" in iface, max_message_size=self.config.max_message_size)
        router.setsockopt(zmq.ROUTER_HANDOVER, 1)
        router.setsockopt(zmq.SNDHWM, 100_000)
        router.setsockopt(zmq.RCVHWM, 100_000)
        router.bind(f"tcp://{host}:{self.config.ret_port}")
        self.config.sock_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.config.sock_dir, 0o700)
        pub.setsockopt(zmq.LINGER, 0)
        pub.setsockopt(zmq.SNDHWM, 0)  # queue, never drop, while the daemon (re)starts
        pub.connect(publish_ipc(self.config.sock_dir))
        self._publish_daemon = PublishDaemon(f"tcp://{host}:{self.config.publish_port}",
                                             publish_ipc(self.config.sock_dir), ipv6=":" in iface,
                                             max_message_size=self.config.max_message_size)
        try:
            self._publish_daemon.start()
        except PublishDaemonError:
            router.close(linger=0)
            pub.close(linger=0)
            control.close(linger=0)
            raise
        with contextlib.suppress(FileNotFoundError):
            control_path(self.config.sock_dir).unlink()
        control.setsockopt(zmq.LINGER, 0)
        # A CLI waiting on 10,000 returns must get all of them: a ROUTER drops, silently, what
        # exceeds a peer's high-water mark, so the control pipe has none.
        control.setsockopt(zmq.SNDHWM, 0)
        control.setsockopt(zmq.RCVHWM, 0)
        control.bind(control_url(self.config.sock_dir))
        return router, pub, control

    async def run(self, stop: asyncio.Event) -> None:
        soft, _ = raise_open_files_limit()
        log.info("open-file limit %d: room for about %d connected minions", soft, max(soft - 100, 0))
        zctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        router, pub, control = self._bind(zctx)
        self._pub = pub
        loop = asyncio.get_running_loop()
        self._control = RequestPort(control, self._on_control)
        self._control.start(loop)
        self.subscriptions.attach(self._control.send)
        log.info("master listening: publish %s:%d, requests %s:%d", self.config.interface,
                 self.config.publish_port, self.config.interface, self.config.ret_port)
        self._port = RequestPort(router, self._on_request)
        self._port.start(loop)
        tasks = [asyncio.ensure_future(self._maintenance())]
        try:
            waiter = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait([*tasks, waiter], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not waiter:
                    task.result()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            with contextlib.suppress(FileNotFoundError):
                control_path(self.config.sock_dir).unlink()
            self._port.close()
            self._control.close()
            pub.close(linger=0)
            if self._publish_daemon is not None:
                self._publish_daemon.stop()
            zctx.destroy(linger=0)
            self._auth_pool.shutdown(wait=True)
            self._writer.shutdown(wait=True)
            self.jobcache.close()
            self.grains.close()
            log.info("master stopped")
