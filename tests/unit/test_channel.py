"""RequestChannel over real ZeroMQ sockets on loopback: timeouts, and abandoning a lost request."""

from __future__ import annotations

import asyncio
import time

import pytest
import zmq
import zmq.asyncio

from edge_minion.channel import RequestChannel
from edge_minion.errors import RequestTimeout


@pytest.fixture
def silent_router() -> tuple[zmq.Socket[bytes], int]:
    """A ROUTER that takes requests and never answers (a master that died mid-request)."""
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    yield router, port
    router.close(linger=0)
    ctx.term()


def test_abandon_ends_the_request_in_flight_at_once(silent_router: tuple[zmq.Socket[bytes], int]) -> None:
    router, port = silent_router

    async def scenario() -> tuple[float, str]:
        zctx = zmq.asyncio.Context()
        channel = RequestChannel(zctx, "127.0.0.1", port)
        try:
            request = asyncio.ensure_future(channel.request(b"ping", 30))
            while not router.poll(10):  # the request has reached the peer and is now in flight
                await asyncio.sleep(0.01)
            started = time.monotonic()
            channel.abandon("the peer restarted")
            with pytest.raises(RequestTimeout) as info:
                await request
            return time.monotonic() - started, str(info.value)
        finally:
            channel.close()
            zctx.term()

    took, message = asyncio.run(scenario())
    assert took < 1.0
    assert "the peer restarted" in message


def test_abandon_with_nothing_in_flight_changes_nothing(silent_router: tuple[zmq.Socket[bytes], int]) -> None:
    router, port = silent_router

    async def scenario() -> bytes:
        zctx = zmq.asyncio.Context()
        channel = RequestChannel(zctx, "127.0.0.1", port)
        try:
            channel.abandon("nothing to abandon")
            request = asyncio.ensure_future(channel.request(b"ping", 10))
            while not router.poll(10):
                await asyncio.sleep(0.01)
            ident, empty, body = router.recv_multipart()
            router.send_multipart([ident, empty, b"pong:" + body])
            return await request
        finally:
            channel.close()
            zctx.term()

    assert asyncio.run(scenario()) == b"pong:ping"


def test_a_silent_peer_times_out_with_the_address_in_the_message(silent_router: tuple[zmq.Socket[bytes], int]) -> None:
    _, port = silent_router

    async def scenario() -> str:
        zctx = zmq.asyncio.Context()
        channel = RequestChannel(zctx, "127.0.0.1", port)
        try:
            with pytest.raises(RequestTimeout) as info:
                await channel.request(b"ping", 0.3)
            return str(info.value)
        finally:
            channel.close()
            zctx.term()

    assert f"127.0.0.1:{port}" in asyncio.run(scenario())
