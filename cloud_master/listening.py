"""Options every socket the minions connect to shares (request ROUTER and publish PUB)."""

from __future__ import annotations

import zmq


def tune_listening_socket(sock: zmq.Socket[bytes], *, ipv6: bool, max_message_size: int) -> None:
    """No linger at close, a deep accept backlog, ZMTP heartbeats to drop dead peers, a size cap."""
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.IPV6, 1 if ipv6 else 0)
    sock.setsockopt(zmq.BACKLOG, 4096)
    sock.setsockopt(zmq.HEARTBEAT_IVL, 10_000)
    sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, 30_000)
    sock.setsockopt(zmq.MAXMSGSIZE, max_message_size)
