"""Non-blocking multipart send and receive with plain-int flags.

pyzmq's ``send_multipart`` ORs ``zmq.SNDMORE`` (a Python ``enum.Flag``) into
the flags of every frame, and each OR is several Python-level calls. Under a
burst of ten thousand replies that costs more than the sends themselves, so the
hot loops (the master's request port, the fleet simulator) use these instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import zmq

NOBLOCK = int(zmq.NOBLOCK)
SNDMORE = int(zmq.SNDMORE)
RCVMORE = int(zmq.RCVMORE)
POLLIN = int(zmq.POLLIN)
EVENTS = int(zmq.EVENTS)


def send_frames(sock: zmq.Socket[bytes], frames: Sequence[bytes]) -> None:
    """Queue ``frames`` as one message without blocking; raises ``zmq.Again`` or ``zmq.ZMQError``."""
    last = len(frames) - 1
    for i, frame in enumerate(frames):
        sock.send(frame, NOBLOCK | SNDMORE if i < last else NOBLOCK)


def recv_frames(sock: zmq.Socket[bytes]) -> list[bytes]:
    """The next whole message without blocking; raises ``zmq.Again`` when none is queued."""
    frames = [sock.recv(NOBLOCK)]
    while sock.getsockopt(RCVMORE):
        frames.append(sock.recv(NOBLOCK))
    return frames


def readable(sock: zmq.Socket[bytes]) -> bool:
    """Whether a message is queued (ZeroMQ's FD only says that this may have changed)."""
    return bool(int(sock.getsockopt(EVENTS)) & POLLIN)
