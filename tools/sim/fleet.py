"""A simulated fleet: many minions multiplexed in one process, each with its own key and sockets.

Every simulated minion speaks the real protocol through the same sans-IO core
(``MinionSession``) as ``edge-minion``: it authenticates, subscribes, decrypts
each publish, decides whether it is targeted, and answers ``test.ping`` (and
``test.echo``) with a ``_return`` on its own REQ socket.

    python -m tools.sim.fleet --master 127.0.0.1 --port 4506 --count 2500 --first 0 --keys DIR

Every simulated device would check the signature and decrypt the same publish
on its own CPU; here they share a process, so the first minion of a process to
open a publish frame does it for all of them (``PublishMemo``): the master's
work, which is what the simulation measures, is unchanged.

Keys are generated once into DIR (``sim-NNNNN.pem``) and reused; the master
must already hold the public keys as accepted (``tools.sim.keys --preseed``).
Prints one JSON line per event (``ready``, ``stats``) on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import fnmatch
import json
import logging
import random
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

import zmq

from edge_minion.channel import tcp_url
from edge_minion.protocol import crypto_openssl
from edge_minion.protocol.errors import AuthenticationFailed, ProtocolError
from edge_minion.protocol.messages import AuthAccepted
from edge_minion.protocol.minion_session import MinionSession
from edge_minion.zmq_frames import readable, recv_frames
from tools.sim.keys import load_keys
from tools.sim.req import CallbackReq

log = logging.getLogger("sim")


class PublishMemo:
    """The few most recent publish frames, opened once per process and AES key.

    Keyed by the minion's current AES key too: after a master restart a minion
    still holding the old key must fail to open the new publishes and sign in
    again, as a real device would, not borrow what a re-signed neighbour opened.
    """

    def __init__(self, size: int = 32) -> None:
        self._size = size
        self._loads: dict[tuple[str, bytes], dict[str, Any]] = {}

    def open(self, session: MinionSession, frames: list[bytes]) -> dict[str, Any]:
        blob = (session.aes.key_string if session.aes is not None else "", frames[-1])
        load = self._loads.get(blob)
        if load is None:
            load = session.handle_publish(frames)
            if len(self._loads) >= self._size:
                del self._loads[next(iter(self._loads))]
            self._loads[blob] = load
        return load


class SimMinion:
    """One simulated device: its own key, REQ and SUB sockets; the hot path is loop callbacks only."""

    def __init__(self, loop: asyncio.AbstractEventLoop, zctx: zmq.Context[zmq.Socket[bytes]], minion_id: str,
                 pem: bytes, host: str, port: int, master_pub: str | None, stats: dict[str, int],
                 memo: PublishMemo, reauth_delay: float) -> None:
        self.id = minion_id
        self.memo = memo
        # cryptography, not the device's pycryptodomex: speed over size, as many minions share 2 cores.
        self.session = MinionSession(minion_id, pem, crypto_openssl, master_pub)
        self.req = CallbackReq(loop, zctx, tcp_url(host, port))
        self._loop = loop
        self.zctx = zctx
        self.host = host
        self.stats = stats
        self.publish_port = 0
        self._reauth_delay = reauth_delay
        self._sub: zmq.Socket[bytes] | None = None
        self._jobs: deque[dict[str, Any]] = deque()
        self._busy = False
        self._reauthing: list[list[bytes]] | None = None  # publishes held while signing in again

    async def authenticate(self) -> None:
        while True:
            try:
                reply = await self.req.call(self.session.auth_request(), 60)
                if reply is None:
                    raise OSError("no answer to the sign-in")
                outcome = self.session.handle_auth_reply(reply)
            except (ProtocolError, OSError) as exc:
                self.stats["auth_errors"] += 1
                log.debug("%s auth failed: %s", self.id, exc)
                await asyncio.sleep(random.uniform(0.5, 2))
                continue
            if isinstance(outcome, AuthAccepted):
                self.publish_port = outcome.publish_port
                self.stats["auths"] += 1
                return
            await asyncio.sleep(random.uniform(1, 3))

    async def start(self) -> None:
        await self.authenticate()
        sub = self._sub = self.zctx.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.setsockopt(zmq.RCVHWM, 1000)
        sub.connect(tcp_url(self.host, self.publish_port))
        self._loop.add_reader(int(sub.getsockopt(zmq.FD)), self._on_sub_readable)
        self._loop.call_soon(self._on_sub_readable)

    def _on_sub_readable(self) -> None:
        sub = self._sub
        assert sub is not None
        try:
            while readable(sub):
                self._on_publish(recv_frames(sub))
        except zmq.Again:
            return

    def _on_publish(self, frames: list[bytes]) -> None:
        if self._reauthing is not None:
            self._reauthing.append(frames)
            return
        try:
            load = self.memo.open(self.session, frames)
        except AuthenticationFailed:
            # The master restarted or rotated: sign in again after a random delay, then retry.
            self.stats["reauth"] += 1
            self._reauthing = [frames]
            asyncio.ensure_future(self._reauth())
            return
        except ProtocolError:
            return
        if self._targeted(load):
            self._jobs.append(load)
            self._next_job()

    async def _reauth(self) -> None:
        await asyncio.sleep(random.uniform(0, self._reauth_delay))
        await self.authenticate()
        held, self._reauthing = self._reauthing or [], None
        for frames in held:
            try:
                load = self.session.handle_publish(frames)
            except ProtocolError:
                continue
            if self._targeted(load):
                self._jobs.append(load)
        self._next_job()

    def _targeted(self, load: dict[str, Any]) -> bool:
        tgt, tgt_type = load.get("tgt"), load.get("tgt_type", "glob")
        if tgt_type == "list":
            return self.id in (tgt if isinstance(tgt, list) else str(tgt).split(","))
        if tgt_type == "glob":
            return fnmatch.fnmatch(self.id, str(tgt))
        return False

    def _next_job(self) -> None:
        if not self._busy and self._jobs:
            self._busy = True
            self._send_return(self._jobs.popleft(), 0)

    def _send_return(self, load: dict[str, Any], attempt: int) -> None:
        fun = load.get("fun")
        ret: Any = True if fun == "test.ping" else (load.get("arg") or [None])[0] if fun == "test.echo" else {}
        reply = {"cmd": "_return", "jid": load["jid"], "fun": fun, "fun_args": load.get("arg", []),
                 "return": ret, "retcode": 0, "success": True}
        frame, nonce = self.session.request(reply, time.time())
        self.req.request(frame, 30, lambda answer: self._on_answer(answer, nonce, load, attempt))

    def _on_answer(self, answer: bytes | None, nonce: str, load: dict[str, Any], attempt: int) -> None:
        try:
            if answer is None:
                raise OSError("no answer")
            self.session.handle_reply(answer, nonce)
        except (ProtocolError, OSError):
            self.stats["return_errors"] += 1
            if attempt < 2:
                self._loop.call_later(random.uniform(0.2, 1), self._send_return, load, attempt + 1)
                return
        else:
            self.stats["returns"] += 1
        self._busy = False
        self._next_job()


async def main_async(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    zctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    zctx.set(zmq.MAX_SOCKETS, 4 * args.count + 100)
    keys = load_keys(Path(args.keys), args.first, args.count)
    master_pub = Path(args.master_pub).read_text() if args.master_pub else None
    stats = {"auths": 0, "auth_errors": 0, "returns": 0, "return_errors": 0, "reauth": 0}
    memo = PublishMemo()
    minions = [SimMinion(loop, zctx, mid, pem, args.master, args.port, master_pub, stats, memo, args.reauth_delay)
               for mid, pem in keys]
    started = time.monotonic()
    tasks = []
    for i, m in enumerate(minions):
        tasks.append(asyncio.ensure_future(m.start()))
        if i % 50 == 49:
            await asyncio.sleep(args.stagger)
    await asyncio.gather(*tasks)
    print(json.dumps({"event": "ready", "count": len(minions), "seconds": round(time.monotonic() - started, 2),
                      **stats}), flush=True)
    while True:
        await asyncio.sleep(args.stats_every)
        print(json.dumps({"event": "stats", **stats}), flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--master", default="127.0.0.1")
    p.add_argument("--port", type=int, default=4506)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--first", type=int, default=0)
    p.add_argument("--keys", required=True)
    p.add_argument("--master-pub", help="pin the master key (file)")
    p.add_argument("--reauth-delay", type=float, default=5.0)
    p.add_argument("--stagger", type=float, default=0.01, help="pause after every 50 sign-ins")
    p.add_argument("--stats-every", type=float, default=5.0)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        asyncio.run(main_async(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
