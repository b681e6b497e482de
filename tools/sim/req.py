"""A REQ socket driven by event-loop callbacks, for simulating thousands of minions in one process.

``edge_minion.channel.RequestChannel`` awaits pyzmq's asyncio sockets: a future,
a task wake-up and a timeout context per request. That is nothing for one
device and most of the simulator's CPU for thousands, which would then starve
the master it measures. Here the socket's file descriptor is watched by the
loop and each request is a callback. Requests are serialised, like the real
channel's, and a timed-out or failed socket is rebuilt.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

import zmq

from edge_minion.channel import tune_socket
from edge_minion.zmq_frames import NOBLOCK, readable

Done = Callable[[bytes | None], None]


class CallbackReq:
    def __init__(self, loop: asyncio.AbstractEventLoop, zctx: zmq.Context[zmq.Socket[bytes]], url: str,
                 heartbeat_s: float = 60) -> None:
        self._loop = loop
        self._zctx = zctx
        self.url = url
        self._heartbeat_s = heartbeat_s
        self._sock: zmq.Socket[bytes] | None = None
        self._fd = -1
        self._waiting: deque[tuple[bytes, float, Done]] = deque()
        self._inflight: Done | None = None
        self._timer: asyncio.TimerHandle | None = None

    def request(self, frame: bytes, timeout: float, done: Done) -> None:
        """Send ``frame`` after the requests before it; ``done(reply)`` gets the reply, or None on failure."""
        self._waiting.append((frame, timeout, done))
        self._send_next()

    async def call(self, frame: bytes, timeout: float) -> bytes | None:
        future: asyncio.Future[bytes | None] = self._loop.create_future()

        def done(reply: bytes | None) -> None:
            if not future.done():
                future.set_result(reply)

        self.request(frame, timeout, done)
        return await future

    def close(self) -> None:
        self._reset()

    def _socket(self) -> zmq.Socket[bytes]:
        if self._sock is None:
            sock = self._zctx.socket(zmq.REQ)
            tune_socket(sock, self._heartbeat_s)
            sock.setsockopt(zmq.RECONNECT_IVL, 500)
            sock.setsockopt(zmq.RECONNECT_IVL_MAX, 5000)
            sock.connect(self.url)
            self._sock = sock
            self._fd = int(sock.getsockopt(zmq.FD))
            self._loop.add_reader(self._fd, self._on_readable)
        return self._sock

    def _reset(self) -> None:
        if self._sock is not None:
            self._loop.remove_reader(self._fd)
            self._sock.close(linger=0)
            self._sock = None

    def _send_next(self) -> None:
        while self._waiting and self._inflight is None:
            frame, timeout, done = self._waiting.popleft()
            try:
                self._socket().send(frame, NOBLOCK)
            except zmq.ZMQError:
                self._reset()
                self._loop.call_soon(done, None)
                continue
            self._inflight = done
            self._timer = self._loop.call_later(timeout, self._finish, None, True)
            self._loop.call_soon(self._on_readable)  # the FD is edge-like: look after every send

    def _on_readable(self) -> None:
        sock = self._sock
        if sock is None:
            return
        try:
            if not readable(sock):  # also clears the FD's signal: always asked
                return
            reply = sock.recv(NOBLOCK)
        except zmq.Again:
            return
        except zmq.ZMQError:
            self._finish(None, True)
            return
        self._finish(reply, False)

    def _finish(self, reply: bytes | None, reset: bool) -> None:
        done, self._inflight = self._inflight, None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if reset:
            self._reset()
        if done is not None:
            done(reply)
        self._send_next()
