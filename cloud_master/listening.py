"""Options every socket the minions connect to shares (request ROUTER and publish PUB)."""

from __future__ import annotations

import zmq

#: A silent connection is probed after this long, then every interval; dropped after the probes fail
#: (about four minutes for a device that vanished without closing its connections).
KEEPALIVE_IDLE_S = 120
KEEPALIVE_INTERVAL_S = 30
KEEPALIVE_PROBES = 4


def tune_listening_socket(sock: zmq.Socket[bytes], *, ipv6: bool, max_message_size: int) -> None:
    """No linger at close, a deep accept backlog, kernel keepalive to drop dead peers, a size cap.

    Not ZMTP heartbeats: libzmq keeps all of an I/O thread's timers in one
    ordered map and cancels a timer by scanning it (O(n), "we assume it is
    rarely used"), and a heartbeat cancels one on every pong. With 10,000
    devices connected that scan ran 1,000 times a second, holding a third of a
    core per socket on an idle master (measured: 2.9 and 3.7 CPU-seconds per
    10 s in the ROUTER's and the publisher's I/O threads). TCP keepalive finds
    a vanished device in the kernel for nothing; the minions keep their own
    heartbeats to notice a dead master quickly.
    """
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.IPV6, 1 if ipv6 else 0)
    sock.setsockopt(zmq.BACKLOG, 4096)
    sock.setsockopt(zmq.HEARTBEAT_IVL, 0)
    sock.setsockopt(zmq.TCP_KEEPALIVE, 1)
    sock.setsockopt(zmq.TCP_KEEPALIVE_IDLE, KEEPALIVE_IDLE_S)
    sock.setsockopt(zmq.TCP_KEEPALIVE_INTVL, KEEPALIVE_INTERVAL_S)
    sock.setsockopt(zmq.TCP_KEEPALIVE_CNT, KEEPALIVE_PROBES)
    sock.setsockopt(zmq.MAXMSGSIZE, max_message_size)
