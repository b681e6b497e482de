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
from pathlib import Path
from typing import Any

import zmq
import zmq.asyncio

from edge_minion.channel import RequestChannel, tcp_url
from edge_minion.protocol.errors import AuthenticationFailed, ProtocolError
from edge_minion.protocol.messages import AuthAccepted
from edge_minion.protocol.minion_session import MinionSession
from tools.sim.keys import load_keys

log = logging.getLogger("sim")


class PublishMemo:
    """The few most recent publish frames, opened once per process (all minions share the AES key)."""

    def __init__(self, size: int = 32) -> None:
        self._size = size
        self._loads: dict[bytes, dict[str, Any]] = {}

    def open(self, session: MinionSession, frames: list[bytes]) -> dict[str, Any]:
        blob = frames[-1]
        load = self._loads.get(blob)
        if load is None:
            load = session.handle_publish(frames)
            if len(self._loads) >= self._size:
                del self._loads[next(iter(self._loads))]
            self._loads[blob] = load
        return load


class SimMinion:
    def __init__(self, zctx: zmq.asyncio.Context, minion_id: str, pem: bytes, host: str, port: int,
                 master_pub: str | None, stats: dict[str, int], memo: PublishMemo) -> None:
        self.id = minion_id
        self.memo = memo
        self.session = MinionSession(minion_id, pem, master_pub)
        self.channel = RequestChannel(zctx, host, port, heartbeat_s=60)
        self.zctx = zctx
        self.host = host
        self.stats = stats
        self.publish_port = 0

    async def authenticate(self) -> None:
        while True:
            try:
                reply = await self.channel.request(self.session.auth_request(), 60)
                outcome = self.session.handle_auth_reply(reply)
            except (ProtocolError, OSError, zmq.ZMQError) as exc:
                self.stats["auth_errors"] += 1
                log.debug("%s auth failed: %s", self.id, exc)
                await asyncio.sleep(random.uniform(0.5, 2))
                continue
            if isinstance(outcome, AuthAccepted):
                self.publish_port = outcome.publish_port
                self.stats["auths"] += 1
                return
            await asyncio.sleep(random.uniform(1, 3))

    async def run(self, ready: asyncio.Event, reauth_delay: float) -> None:
        await self.authenticate()
        sub = self.zctx.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.setsockopt(zmq.RCVHWM, 1000)
        sub.connect(tcp_url(self.host, self.publish_port))
        ready.set()
        while True:
            frames = await sub.recv_multipart()
            try:
                load = self.memo.open(self.session, frames)
            except AuthenticationFailed:
                # The master restarted or rotated: re-auth after a random delay, then retry once.
                self.stats["reauth"] += 1
                await asyncio.sleep(random.uniform(0, reauth_delay))
                await self.authenticate()
                try:
                    load = self.session.handle_publish(frames)
                except ProtocolError:
                    continue
            except ProtocolError:
                continue
            if self._targeted(load):
                asyncio.ensure_future(self.answer(load))

    def _targeted(self, load: dict[str, Any]) -> bool:
        tgt, tgt_type = load.get("tgt"), load.get("tgt_type", "glob")
        if tgt_type == "list":
            return self.id in (tgt if isinstance(tgt, list) else str(tgt).split(","))
        if tgt_type == "glob":
            return fnmatch.fnmatch(self.id, str(tgt))
        return False

    async def answer(self, load: dict[str, Any]) -> None:
        fun = load.get("fun")
        ret: Any = True if fun == "test.ping" else (load.get("arg") or [None])[0] if fun == "test.echo" else {}
        reply = {"cmd": "_return", "jid": load["jid"], "fun": fun, "fun_args": load.get("arg", []),
                 "return": ret, "retcode": 0, "success": True}
        for _ in range(3):
            try:
                frame, nonce = self.session.request(reply, time.time())
                self.session.handle_reply(await self.channel.request(frame, 30), nonce)
                self.stats["returns"] += 1
                return
            except (ProtocolError, OSError, zmq.ZMQError):
                self.stats["return_errors"] += 1
                await asyncio.sleep(random.uniform(0.2, 1))


async def main_async(args: argparse.Namespace) -> None:
    zctx = zmq.asyncio.Context()
    zctx.set(zmq.MAX_SOCKETS, 4 * args.count + 100)
    keys = load_keys(Path(args.keys), args.first, args.count)
    master_pub = Path(args.master_pub).read_text() if args.master_pub else None
    stats = {"auths": 0, "auth_errors": 0, "returns": 0, "return_errors": 0, "reauth": 0}
    memo = PublishMemo()
    minions = [SimMinion(zctx, mid, pem, args.master, args.port, master_pub, stats, memo) for mid, pem in keys]
    events = [asyncio.Event() for _ in minions]
    started = time.monotonic()
    tasks = []
    for i, (m, ev) in enumerate(zip(minions, events, strict=True)):
        tasks.append(asyncio.ensure_future(m.run(ev, args.reauth_delay)))
        if i % 50 == 49:
            await asyncio.sleep(args.stagger)
    await asyncio.gather(*(e.wait() for e in events))
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
