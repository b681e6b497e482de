"""The local control channel between the master and its CLIs.

Publishing is not served on the network at all: the ``fleet`` CLI talks to
the master over a Unix socket (``ipc://<state>/sock/control.ipc``) whose
directory only the master's user can enter. Messages are msgpack mappings.

CLI -> master::

    {"cmd": "publish", "tgt", "tgt_type", "fun", "arg", "ttl", "user", "subscribe": bool}
    {"cmd": "unsubscribe", "jid"}
    {"cmd": "ping"}

master -> CLI (one event map, or an array of them: returns come in batches)::

    {"event": "published", "jid", "minions", "offline", "unknown"}
    {"event": "return", "jid", "id", "load"}
    {"event": "error", "message"}
    {"event": "pong", ...}
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

import zmq

from cloud_master.errors import ControlError
from edge_minion.protocol import payload


def control_path(sock_dir: Path) -> Path:
    return sock_dir / "control.ipc"


def control_url(sock_dir: Path) -> str:
    return f"ipc://{control_path(sock_dir)}"


class ControlClient:
    """A blocking client for CLIs (plain pyzmq: no event loop to start)."""

    def __init__(self, sock_dir: Path) -> None:
        path = control_path(sock_dir)
        if not path.exists():
            raise ControlError(f"no master is running on {sock_dir.parent} (no {path})")
        self._zctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
        self._sock = self._zctx.socket(zmq.DEALER)
        self._sock.setsockopt(zmq.LINGER, 0)
        self._sock.setsockopt(zmq.RCVHWM, 0)  # never drop returns of a large job (see server)
        self._sock.connect(control_url(sock_dir))
        self._queued: deque[dict[str, Any]] = deque()

    def send(self, msg: dict[str, Any]) -> None:
        self._sock.send(payload.dumps(msg))

    def recv(self, timeout: float) -> dict[str, Any] | None:
        """The next message, or None after ``timeout`` seconds."""
        if self._queued:
            return self._queued.popleft()
        if not self._sock.poll(int(max(timeout, 0) * 1000)):
            return None
        msg = payload.loads(self._sock.recv())
        if isinstance(msg, list) and msg and all(isinstance(m, dict) for m in msg):
            self._queued.extend(msg)
            return self._queued.popleft()
        if not isinstance(msg, dict):
            raise ControlError("master sent a malformed control message")
        return msg

    def call(self, msg: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
        """Send and wait for the first answer."""
        self.send(msg)
        reply = self.recv(timeout)
        if reply is None:
            raise ControlError(f"the master did not answer within {timeout:.0f}s")
        if reply.get("event") == "error":
            raise ControlError(str(reply.get("message")))
        return reply

    def close(self) -> None:
        self._sock.close(linger=0)
