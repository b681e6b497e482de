"""Socket options with a measured reason behind them (cloud_master/listening.py, edge_minion/channel.py).

ZMTP heartbeats on the master's ports, or a heartbeat TTL from the minions,
make libzmq cancel a timer per pong or per ping, by scanning every timer of the
master's I/O thread: quadratic in the fleet size (a third of a core per port,
idle, with 10,000 devices). These pin the options that avoid it.
"""

from __future__ import annotations

import zmq

from cloud_master.listening import KEEPALIVE_IDLE_S, KEEPALIVE_PROBES, tune_listening_socket
from edge_minion.channel import tune_socket


def test_master_ports_use_tcp_keepalive_not_zmtp_heartbeats() -> None:
    zctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    try:
        for kind in (zmq.ROUTER, zmq.PUB):
            sock = zctx.socket(kind)
            tune_listening_socket(sock, ipv6=False, max_message_size=1 << 20)
            assert sock.getsockopt(zmq.HEARTBEAT_IVL) == 0
            assert sock.getsockopt(zmq.TCP_KEEPALIVE) == 1
            assert sock.getsockopt(zmq.TCP_KEEPALIVE_IDLE) == KEEPALIVE_IDLE_S
            assert sock.getsockopt(zmq.TCP_KEEPALIVE_CNT) == KEEPALIVE_PROBES
            assert sock.getsockopt(zmq.MAXMSGSIZE) == 1 << 20
            sock.close(linger=0)
    finally:
        zctx.term()


def test_minion_sockets_heartbeat_without_asking_the_master_for_a_ttl() -> None:
    zctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    try:
        sock = zctx.socket(zmq.REQ)
        tune_socket(sock, heartbeat_s=30)
        assert sock.getsockopt(zmq.HEARTBEAT_IVL) == 30_000
        assert sock.getsockopt(zmq.HEARTBEAT_TIMEOUT) == 60_000
        assert sock.getsockopt(zmq.HEARTBEAT_TTL) == 0
        assert sock.getsockopt(zmq.TCP_KEEPALIVE) == 1
        sock.close(linger=0)
    finally:
        zctx.term()
