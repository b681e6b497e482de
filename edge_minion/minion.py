"""The minion process: keys, a link to a master with back-off and failover, jobs, outbox.

Reading order: ``run`` (connect loop with capped, jittered back-off over the
configured masters) -> ``_serve`` (one live link: publishes, heartbeats, the
outbox sender, grains updates) -> ``_on_publish`` (target check, de-dup, run).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import random
import socket
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import zmq.asyncio

from edge_minion import keys
from edge_minion.backoff import Backoff
from edge_minion.claim_token import CLAIM_GRAIN, SERIAL_GRAIN, read_claim_token, wipe_claim_token
from edge_minion.config import MinionConfig
from edge_minion.errors import AuthRejected, ChannelError, MasterKeyMismatch, MinionKeyError
from edge_minion.inbox import Inbox
from edge_minion.jobs import INTERRUPTED, JobRunner, JobTable, Runner, return_load
from edge_minion.link import MasterLink
from edge_minion.outbox import Outbox
from edge_minion.protocol import crypto_dome
from edge_minion.protocol.minion_session import MinionSession
from edge_minion.schedule import Scheduler, finish_return, open_book, runner_call
from edge_minion.tasks import until_first_failure

log = logging.getLogger(__name__)

GrainsSource = Callable[[], dict[str, Any]]
PublishFilter = Callable[[dict[str, Any], dict[str, Any]], bool]


class Minion:
    """Everything one minion process does, with its dependencies passed in."""

    def __init__(self, config: MinionConfig, runner: Runner, grains: GrainsSource,
                 matches: PublishFilter, rng: random.Random | None = None,
                 table: JobTable | None = None, idempotent: Callable[[str], bool] = lambda fun: False,
                 config_path: Path | None = None) -> None:
        self.config = config
        self._config_path = config_path  # to wipe a used claim_token from it
        self._claim_presented = False
        self._claim_done = False
        self._grains = grains
        self._matches = matches
        self._rng = rng or random.Random()
        self.outbox = Outbox(config.cache_dir / "outbox.sqlite", config.outbox_max_bytes)
        self.inbox = Inbox(self.outbox)
        self._idempotent = idempotent
        self.jobs = JobRunner(config.id, runner, self._queue_return, config.max_workers, table,
                              on_start=self.inbox.started)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._outbox_ready = asyncio.Event()
        self._grains_dirty = asyncio.Event()
        self.link: MasterLink | None = None
        self.ready = asyncio.Event()  # set once authenticated and subscribed
        self.scheduler = Scheduler(config.id, open_book(config.state_dir, config.schedule),
                                   self._submit_scheduled, runner_call(runner), rng=self._rng)
        self._scheduled_runs = 0

    # ---- called from job threads -----------------------------------------------------------

    def _queue_return(self, load: dict[str, Any]) -> None:
        load = finish_return(load)
        self.inbox.finish(str(load["jid"]), load)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._outbox_ready.set)

    def grains_changed(self, _items: object = None) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._grains_dirty.set)

    # ---- the connect loop ------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        try:
            private_pem = keys.load_or_create(self.config.pki_dir)
        except MinionKeyError:
            log.exception("cannot start without a key pair")
            raise
        self.recover()
        scheduling = asyncio.ensure_future(self.scheduler.run(stop))  # runs with or without a master
        zctx = zmq.asyncio.Context()
        backoff = Backoff(self.config.backoff_base, self.config.backoff_cap, self._rng)
        masters = list(self.config.master)
        index = 0
        try:
            while not stop.is_set():
                host = masters[index % len(masters)]
                delay: float | None = None
                try:
                    session = MinionSession(
                        self.config.id, private_pem, crypto_dome, keys.read_master_pub(self.config.pki_dir),
                        self.config.master_finger, autosign_grains=self._autosign_grains(),
                    )
                    link = MasterLink(
                        zctx, session, host, self.config.master_port,
                        auth_timeout=self.config.auth_timeout, request_timeout=self.config.request_timeout,
                        heartbeat_s=self.config.heartbeat_interval,
                        acceptance_wait=self.config.acceptance_wait_time,
                        acceptance_wait_max=self.config.acceptance_wait_time_max,
                        reauth_delay=self.config.random_reauth_delay,
                        publish_port=self.config.publish_port, rng=self._rng,
                    )
                    self.link = link
                    await self._until_stopped(self._serve(link, backoff), stop)
                except AuthRejected as exc:
                    log.error("%s; retrying in %.0fs (accept it with fleet-key -a %s)",
                              exc, self.config.backoff_cap, self.config.id)
                    delay = self.config.backoff_cap
                except MasterKeyMismatch as exc:
                    log.error("%s (remove %s to trust a new master)", exc,
                              self.config.pki_dir / keys.MASTER_PUB)
                    delay = self.config.backoff_cap
                except (ChannelError, OSError, zmq.ZMQError) as exc:
                    log.warning("link to master %s lost: %s", host, exc)
                finally:
                    self.ready.clear()
                    if self.link is not None:
                        self.link.close()
                if stop.is_set():
                    break
                if delay is None:
                    delay = backoff.next()
                if len(masters) > 1:
                    index += 1
                log.info("reconnecting in %.1fs (attempt %d)", delay, backoff.failures)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
        finally:
            if not stop.is_set():
                scheduling.cancel()
            for result in await asyncio.gather(scheduling, return_exceptions=True):
                if isinstance(result, Exception):
                    log.error("the scheduler failed: %r", result)
            self.jobs.shutdown(wait=False)
            zctx.destroy(linger=0)
            self.outbox.close()

    def _submit_scheduled(self, load: dict[str, Any]) -> Future[None] | None:
        """A scheduled run, as a job: into the inbox (a jid seen before does not run again), then run."""
        if not self.inbox.accept(load):
            return None
        self._scheduled_runs += 1
        if self._scheduled_runs % 1000 == 0:
            self.inbox.prune()  # a 2-second entry adds 43,200 inbox rows a day, and restarts may be rare
        return self.jobs.submit(load)

    def recover(self) -> None:
        """Finish what a crash or power cut left: run queued jobs, settle interrupted ones."""
        for state, load in self.inbox.unfinished():
            fun = str(load.get("fun"))
            if state == "queued" or self._idempotent(fun):
                log.info("resuming job %s (%s) left %s", load.get("jid"), fun, state)
                self.jobs.submit(load)
            else:
                log.warning("job %s (%s) was interrupted; reporting it", load.get("jid"), fun)
                ret = finish_return(return_load(self.config.id, load, (INTERRUPTED, 1, False, "nested")))
                ret["interrupted"] = True
                self.inbox.finish(str(load["jid"]), ret)
        self.inbox.prune()

    @staticmethod
    async def _until_stopped(work: Any, stop: asyncio.Event) -> None:
        task = asyncio.ensure_future(work)
        waiter = asyncio.ensure_future(stop.wait())
        try:
            done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if task in done:
                task.result()
        finally:
            for t in (task, waiter):
                t.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _autosign_grains(self) -> dict[str, Any]:
        wanted = self.config.autosign_grains
        token = None if self._claim_done else read_claim_token(self.config)
        self._claim_presented = token is not None
        if not wanted and token is None:
            return {}
        items = self._grains()
        grains = {k: items[k] for k in wanted if k in items}
        if token is not None:
            grains[CLAIM_GRAIN] = token
            if SERIAL_GRAIN in items:
                grains.setdefault(SERIAL_GRAIN, items[SERIAL_GRAIN])
            log.info("presenting a claim token; if the master refuses it (see its log) the key stays pending")
        return grains

    # ---- one live link ---------------------------------------------------------------------

    async def _serve(self, link: MasterLink, backoff: Backoff) -> None:
        accepted = await link.authenticate()
        if self._claim_presented and not self._claim_done:
            self._claim_done = True
            await asyncio.to_thread(wipe_claim_token, self.config, self._config_path)
        if accepted.first_contact:
            keys.pin_master_pub(self.config.pki_dir, accepted.master_pub)
            log.info("trusting master key %s on first use", link.host)
        backoff.reset()
        log.info("authenticated with master %s", link.host)
        fetch_held = functools.partial(self._fetch_held, link)
        listener = asyncio.ensure_future(link.listen(self._on_publish, fetch_held if accepted.edgefleet else None))
        await asyncio.sleep(0.05)  # let the SUB socket connect before announcing ourselves
        await self._send_grains(link)
        await link.request(self._start_event())
        if accepted.edgefleet:
            await fetch_held()
        self.ready.set()
        log.info("minion ready")
        self._outbox_ready.set()
        tasks = [listener, asyncio.ensure_future(self._heartbeat(link)),
                 asyncio.ensure_future(self._send_outbox(link)), asyncio.ensure_future(self._grains_loop(link))]
        await until_first_failure(tasks)

    async def _fetch_held(self, link: MasterLink) -> None:
        """Jobs the master holds for us (sent while we were away); the inbox drops ones seen before."""
        held = await link.request({"cmd": "_edgefleet_pending"})
        for load in held if isinstance(held, list) else []:
            if isinstance(load, dict):
                await self._on_publish(load)

    def _start_event(self) -> dict[str, Any]:
        stamp = time.strftime("%a %b %d %H:%M:%S %Y")
        return {"cmd": "_minion_event", "pretag": None,
                "events": [
                    {"tag": f"salt/minion/{self.config.id}/start",
                     "data": {"data": f"Minion {self.config.id} started at {stamp}"}},
                    {"tag": "minion_start", "data": {"data": f"Minion {self.config.id} started at {stamp}"}},
                ]}

    async def _send_grains(self, link: MasterLink) -> None:
        grains = await asyncio.to_thread(self._grains)
        grains["id"] = self.config.id
        await link.request({"cmd": "_pillar", "grains": grains, "saltenv": "base", "pillarenv": None,
                            "pillar_override": {}, "extra_minion_data": {}, "ver": "2"})

    async def _grains_loop(self, link: MasterLink) -> None:
        while True:
            await self._grains_dirty.wait()
            self._grains_dirty.clear()
            await self._send_grains(link)

    async def _heartbeat(self, link: MasterLink) -> None:
        """App-level ping: a half-open link fails it within two heartbeat periods."""
        period = self.config.heartbeat_interval
        while True:
            await asyncio.sleep(period * self._rng.uniform(0.8, 1.0))
            reply = await link.request(
                {"cmd": "_minion_event", "tag": "minion_ping",
                 "data": {"edgefleet": True, "outbox": len(self.outbox)}}, timeout=period)
            if isinstance(reply, dict) and link.session.aes is not None:
                aes_id = reply.get("aes_id")
                mine = hashlib.sha256(link.session.aes.key_string.encode()).hexdigest()[:16]
                if aes_id and aes_id != mine:
                    await link.reauthenticate(link.session.aes.key_string)

    async def _send_outbox(self, link: MasterLink) -> None:
        """Upload queued returns in order; a row is removed only after the master's reply."""
        while True:
            await self._outbox_ready.wait()
            self._outbox_ready.clear()
            while True:
                batch = await asyncio.to_thread(self.outbox.peek, 50)
                if not batch:
                    break
                for entry in batch:
                    await link.request(entry.load)
                    await asyncio.to_thread(self.outbox.ack, entry.seq)

    # ---- jobs ------------------------------------------------------------------------------

    async def _on_publish(self, load: dict[str, Any]) -> None:
        if not all(k in load for k in ("tgt", "jid", "fun", "arg")):
            log.debug("dropped a publish without tgt/jid/fun/arg")
            return
        jid = str(load["jid"])
        try:
            if not self._matches(load, self._grains()):
                return
        except Exception:
            log.exception("cannot evaluate target %r", load.get("tgt"))
            return
        if not await asyncio.to_thread(self.inbox.accept, load):
            log.debug("job %s seen before; not running it again", jid)
            return
        log.info("running job %s: %s", jid, load["fun"])
        self.jobs.submit(load)


def default_id() -> str:
    return socket.gethostname()
