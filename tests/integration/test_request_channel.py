"""The minion's request channel against a real ROUTER, through the chaos proxy.

A REQ socket never resends, so a request whose connection drops can never be
answered: the channel must say so at once (ConnectionLost), yet a drop while
no request was in flight must not fail the next one.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest
import zmq
import zmq.asyncio

from edge_minion.channel import RequestChannel
from edge_minion.errors import ConnectionLost, RequestTimeout
from tests.fleet_harness import free_ports
from tools.chaos_proxy import ChaosProxy


@pytest.fixture
def echo_port() -> Iterator[int]:
    """A ROUTER on 127.0.0.1 that answers every request with its own bytes reversed."""
    zctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    router = zctx.socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            if router.poll(50):
                *head, data = router.recv_multipart()
                router.send_multipart([*head, data[::-1]])

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port
    stop.set()
    thread.join(5)
    router.close(linger=0)
    zctx.term()


@pytest.fixture
def proxied(echo_port: int) -> Iterator[tuple[ChaosProxy, int]]:
    (port,) = free_ports(1)
    proxy = ChaosProxy({port: ("127.0.0.1", echo_port)}).start()
    yield proxy, port
    proxy.stop()


def _run(coro_fn, port: int):  # type: ignore[no-untyped-def]
    async def main():  # type: ignore[no-untyped-def]
        zctx = zmq.asyncio.Context()
        channel = RequestChannel(zctx, "127.0.0.1", port, heartbeat_s=60)
        try:
            return await coro_fn(channel)
        finally:
            channel.close()
            zctx.destroy(linger=0)

    return asyncio.run(main())


def test_a_request_whose_connection_is_reset_fails_at_once(proxied) -> None:  # type: ignore[no-untyped-def]
    proxy, port = proxied

    async def scenario(channel: RequestChannel) -> float:
        assert await channel.request(b"abc", 5) == b"cba"
        proxy.blackhole()
        pending = asyncio.ensure_future(channel.request(b"lost", 30))
        await asyncio.sleep(0.5)
        proxy.cut(0.5)
        proxy.blackhole(False)
        started = time.monotonic()
        with pytest.raises(ConnectionLost, match="request in flight"):
            await pending
        waited = time.monotonic() - started
        await asyncio.sleep(0.6)
        assert await channel.request(b"again", 5) == b"niaga"  # a fresh socket after the loss
        return waited

    assert _run(scenario, port) < 5


def test_a_drop_between_requests_does_not_fail_the_next_one(proxied) -> None:  # type: ignore[no-untyped-def]
    proxy, port = proxied

    async def scenario(channel: RequestChannel) -> None:
        assert await channel.request(b"one", 5) == b"eno"
        proxy.cut(0.3)  # the idle connection is reset; the socket reconnects by itself
        await asyncio.sleep(1.0)
        assert await channel.request(b"two", 5) == b"owt"

    _run(scenario, port)


def test_a_silent_link_still_times_out(proxied) -> None:  # type: ignore[no-untyped-def]
    proxy, port = proxied

    async def scenario(channel: RequestChannel) -> None:
        assert await channel.request(b"x", 5) == b"x"
        proxy.blackhole()  # the connection stays up and nothing passes
        with pytest.raises(RequestTimeout):
            await channel.request(b"held", 1)
        proxy.blackhole(False)

    _run(scenario, port)
