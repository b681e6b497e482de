"""Request channel to the master's port 4506: one REQ socket, one request at a time.

A REQ socket whose peer vanished is stuck, so on a timeout or error the
socket is closed and a fresh one (with a fresh DNS lookup) is made for the
next request, as Salt's RequestClient does.

A REQ socket never resends: when the connection carrying a request drops (the
master restarted, the link was cut), no reply can come. The channel watches
its socket's disconnect events and gives up on that request at once
(:class:`ConnectionLost`) instead of waiting out the whole timeout.
"""

from __future__ import annotations

import asyncio
import logging

import zmq
import zmq.asyncio

from edge_minion.errors import ChannelError, ConnectionLost, RequestTimeout
from edge_minion.zmq_frames import recv_frames

log = logging.getLogger(__name__)


def tcp_url(host: str, port: int) -> str:
    """A ZeroMQ TCP URL, bracketing IPv6 literals."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"tcp://{host}:{port}"


def tune_socket(sock: zmq.Socket[bytes] | zmq.asyncio.Socket, heartbeat_s: float) -> None:
    """Options every minion socket gets: no linger, IPv6, ZMTP heartbeats, TCP keepalive.

    The heartbeats let the minion notice a dead master within two intervals.
    No ``HEARTBEAT_TTL``: it makes the master arm a timer per ping and cancel
    it on the next message, and libzmq cancels by scanning every timer of the
    master's I/O thread (O(connected devices)); the master finds vanished
    devices by TCP keepalive instead (cloud_master/listening.py).
    """
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.IPV6, 1)
    ivl = max(1000, int(heartbeat_s * 1000))
    sock.setsockopt(zmq.HEARTBEAT_IVL, ivl)
    sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, ivl * 2)
    sock.setsockopt(zmq.TCP_KEEPALIVE, 1)
    sock.setsockopt(zmq.TCP_KEEPALIVE_IDLE, 60)
    sock.setsockopt(zmq.TCP_KEEPALIVE_INTVL, 15)
    sock.setsockopt(zmq.TCP_KEEPALIVE_CNT, 4)


class RequestChannel:
    """Serialised request/reply over a REQ socket that is rebuilt after any failure."""

    def __init__(self, zctx: zmq.asyncio.Context, host: str, port: int, heartbeat_s: float = 30.0) -> None:
        self._zctx = zctx
        self.url = tcp_url(host, port)
        self._heartbeat_s = heartbeat_s
        self._sock: zmq.asyncio.Socket | None = None
        self._disconnects: zmq.asyncio.Socket | None = None
        self._lock = asyncio.Lock()

    def _socket(self) -> zmq.asyncio.Socket:
        if self._sock is None:
            sock = self._zctx.socket(zmq.REQ)
            tune_socket(sock, self._heartbeat_s)
            sock.setsockopt(zmq.IMMEDIATE, 1)
            sock.setsockopt(zmq.RECONNECT_IVL, 500)
            sock.setsockopt(zmq.RECONNECT_IVL_MAX, 5000)
            self._disconnects = sock.get_monitor_socket(zmq.EVENT_DISCONNECTED)
            sock.connect(self.url)
            self._sock = sock
        return self._sock

    def _reset(self) -> None:
        if self._sock is not None:
            if self._disconnects is not None:
                self._sock.disable_monitor()
                self._disconnects.close(linger=0)
                self._disconnects = None
            self._sock.close(linger=0)
            self._sock = None

    def _forget_old_disconnects(self) -> None:
        """Disconnects before this request were of connections that carried none of it."""
        assert self._disconnects is not None
        events: zmq.Socket[bytes] = zmq.Socket.shadow(self._disconnects.underlying)  # NOBLOCK raises Again
        try:
            while True:
                recv_frames(events)
        except zmq.Again:
            pass

    async def _reply_or_lost(self, sock: zmq.asyncio.Socket) -> bytes:
        assert self._disconnects is not None
        reply = asyncio.ensure_future(sock.recv())
        lost = asyncio.ensure_future(self._disconnects.recv_multipart())
        try:
            await asyncio.wait((reply, lost), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for future in (reply, lost):
                if not future.done():
                    future.cancel()
        if reply.done() and not reply.cancelled():
            return reply.result()
        raise ConnectionLost(f"the connection to {self.url} dropped with a request in flight")

    async def request(self, frame: bytes, timeout: float) -> bytes:
        """Send one frame and wait for the reply; RequestTimeout after ``timeout`` seconds."""
        async with self._lock:
            sock = self._socket()
            try:
                async with asyncio.timeout(timeout):
                    self._forget_old_disconnects()
                    await sock.send(frame)
                    reply = await self._reply_or_lost(sock)
            except ConnectionLost:
                self._reset()
                raise
            except TimeoutError as exc:
                self._reset()
                raise RequestTimeout(f"no reply from {self.url} within {timeout:.0f}s") from exc
            except zmq.ZMQError as exc:
                self._reset()
                raise ChannelError(f"request to {self.url} failed: {exc}") from exc
            return reply

    def close(self) -> None:
        self._reset()
