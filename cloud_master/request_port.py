"""The request port's socket loop: drain bursts without a future per message.

pyzmq's asyncio sockets cost a future and several callbacks per message. Under
a burst of ten thousand returns that overhead dominates, so the ROUTER socket
is a plain one whose file descriptor the event loop watches; each wake-up
drains every queued message. (ZeroMQ's FD is edge-triggered: after a send the
socket's events must be checked again, which :meth:`send` schedules.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import zmq

from edge_minion.zmq_frames import readable, recv_frames, send_frames

log = logging.getLogger(__name__)


class RequestPort:
    def __init__(self, sock: zmq.Socket[bytes], on_request: Callable[[list[bytes]], None],
                 burst: int = 1000) -> None:
        self.sock = sock
        self._on_request = on_request
        self._burst = burst
        self._loop: asyncio.AbstractEventLoop | None = None
        self._fd: int | None = None
        self._check_scheduled = False

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._fd = int(self.sock.getsockopt(zmq.FD))
        loop.add_reader(self._fd, self._drain)
        loop.call_soon(self._drain)

    def _drain(self) -> None:
        self._check_scheduled = False
        handled = 0
        while handled < self._burst:
            try:
                if not readable(self.sock):
                    return
                frames = recv_frames(self.sock)
            except zmq.Again:
                return
            except zmq.ZMQError as exc:
                log.warning("request socket error: %s", exc)
                return
            handled += 1
            try:
                self._on_request(frames)
            except Exception:
                log.exception("error while handling a request")
        self._schedule_check()  # more may be queued: yield to the loop, then go on

    def _schedule_check(self) -> None:
        if not self._check_scheduled and self._loop is not None:
            self._check_scheduled = True
            self._loop.call_soon(self._drain)

    def send(self, frames: list[bytes]) -> None:
        try:
            send_frames(self.sock, frames)
        except zmq.ZMQError as exc:  # peer gone or HWM reached: the minion will retry
            log.debug("reply dropped: %s", exc)
        self._schedule_check()

    def close(self) -> None:
        if self._loop is not None and self._fd is not None:
            self._loop.remove_reader(self._fd)
        self.sock.close(linger=0)
