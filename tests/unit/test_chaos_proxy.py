"""The chaos proxy itself, over real loopback sockets."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.fleet_harness import free_ports
from tools.chaos_proxy import ChaosProxy


@pytest.fixture
def echo_port() -> Iterator[int]:
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # the fixture closed the listening socket
            threading.Thread(target=echo, args=(conn,), daemon=True).start()

    def echo(conn: socket.socket) -> None:
        try:
            with conn:
                while data := conn.recv(4096):
                    conn.sendall(data)
        except OSError:
            pass

    threading.Thread(target=serve, daemon=True).start()
    yield port
    stop.set()
    srv.close()


def roundtrip(port: int, data: bytes = b"ping", timeout: float = 2.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        return s.recv(4096)


def test_passes_cuts_and_restores(echo_port: int) -> None:
    (listen,) = free_ports(1)
    proxy = ChaosProxy({listen: ("127.0.0.1", echo_port)}).start()
    try:
        assert roundtrip(listen) == b"ping"
        proxy.cut(60)
        with pytest.raises(OSError):
            roundtrip(listen)
        proxy.restore()
        assert roundtrip(listen) == b"ping"
    finally:
        proxy.stop()


def test_blackhole_holds_the_link_open_but_passes_nothing(echo_port: int) -> None:
    (listen,) = free_ports(1)
    proxy = ChaosProxy({listen: ("127.0.0.1", echo_port)}).start()
    try:
        with socket.create_connection(("127.0.0.1", listen), timeout=5) as s:
            proxy.blackhole()
            s.sendall(b"lost?")
            s.settimeout(0.5)
            with pytest.raises(TimeoutError):
                s.recv(10)
            proxy.restore()
            s.settimeout(3)
            assert s.recv(10) == b"lost?"
    finally:
        proxy.stop()


def test_latency_is_added(echo_port: int) -> None:
    (listen,) = free_ports(1)
    proxy = ChaosProxy({listen: ("127.0.0.1", echo_port)}).start()
    try:
        proxy.latency(0.3)
        started = time.monotonic()
        assert roundtrip(listen) == b"ping"
        assert time.monotonic() - started >= 0.55
        assert proxy.faults.counts["latency"] == 1
    finally:
        proxy.stop()


def test_refuses_non_loopback_targets() -> None:
    with pytest.raises(ValueError):
        ChaosProxy({1: ("10.0.0.1", 80)})
