"""Free TCP ports on 127.0.0.1 for tests, never the same port twice in one run.

The kernel picks each port (bind to port 0, read it back, close). A process-wide
set remembers what was handed out, so two fixtures asking in turn cannot be given
the same port while the first one's daemon has not bound it yet.
"""

from __future__ import annotations

import socket
import threading

_HANDED_OUT: set[int] = set()
_LOCK = threading.Lock()


def free_tcp_ports(n: int) -> list[int]:
    """Return ``n`` distinct TCP ports that were free on 127.0.0.1 a moment ago.

    Raises:
        ValueError: ``n`` is negative.
    """
    if n < 0:
        raise ValueError(f"cannot allocate {n} ports")
    ports: list[int] = []
    with _LOCK:
        while len(ports) < n:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", 0))
                port: int = s.getsockname()[1]
            if port not in _HANDED_OUT:
                _HANDED_OUT.add(port)
                ports.append(port)
    return ports
