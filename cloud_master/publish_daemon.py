"""The publish port in its own process, as Salt's master does it.

Every minion holds two TCP connections to the master: its request socket and its
subscription. In one process that is two file descriptors per device, and a
10,000-device fleet meets a 20,000-descriptor limit; the publish fan-out also
costs the request loop CPU. So the master hands each publish frame over a local
``PUSH``/``PULL`` pipe (``ipc://<state>/sock/publish.ipc``: reliable, ordered,
never dropped while the daemon starts) to this small process, which owns the
``PUB`` socket on the publish port.

The daemon's standard input is a pipe from the master: when the master exits,
even by SIGKILL, the pipe reads end-of-file and the daemon exits with it.

    python -m cloud_master.publish_daemon --publish tcp://0.0.0.0:4505 --pull ipc://.../publish.ipc
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import resource
import selectors
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import zmq

from cloud_master.errors import PublishDaemonError
from cloud_master.listening import tune_listening_socket

READY = "ready"


def raise_open_files_limit() -> tuple[int, int]:
    """Raise this process's soft descriptor limit to its hard limit (each minion costs one)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def publish_ipc(sock_dir: Path) -> str:
    return f"ipc://{sock_dir / 'publish.ipc'}"


class PublishDaemon:
    """The master's handle on the daemon process: start it, check it, stop it."""

    def __init__(self, publish_url: str, pull_url: str, *, ipv6: bool, max_message_size: int,
                 log_level: str = "warning") -> None:
        self.publish_url = publish_url
        self.pull_url = pull_url
        self._argv = [sys.executable, "-m", "cloud_master.publish_daemon", "--publish", publish_url,
                      "--pull", pull_url, "--max-message-size", str(max_message_size), "-l", log_level]
        if ipv6:
            self._argv.append("--ipv6")
        self.proc: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 15.0) -> None:
        """Start the daemon and wait until its port is bound; PublishDaemonError if it cannot bind."""
        if self.proc is not None:
            self.stop()  # a daemon that died: collect it and close its pipes first
        self.proc = subprocess.Popen(self._argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = _readline(self.proc, timeout)
        if line.strip() != READY:
            self.stop()
            raise PublishDaemonError(f"the publish daemon did not start on {self.publish_url}: "
                                     f"{line.strip() or 'it exited without a word'}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            if proc.stdin is not None:
                proc.stdin.close()  # end-of-file: the daemon's signal to go
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _readline(proc: subprocess.Popen[str], timeout: float) -> str:
    """The daemon's first line, or "" if it says nothing within ``timeout`` seconds."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            return ""
    return proc.stdout.readline()


# ---- the daemon process ------------------------------------------------------------------


def _tell_master(line: str) -> None:
    """One line on stdout, the pipe the master reads at start-up."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _bind_with_retry(sock: zmq.Socket[bytes], url: str, patience: float) -> None:
    """Bind, retrying while the port is still held (a killed master's daemon may be exiting)."""
    end = time.monotonic() + patience
    while True:
        try:
            sock.bind(url)
            return
        except zmq.ZMQError as exc:
            if exc.errno != zmq.EADDRINUSE or time.monotonic() >= end:
                raise
            time.sleep(0.1)


def serve(publish_url: str, pull_url: str, *, ipv6: bool, max_message_size: int, parent_fd: int,
          bind_patience: float = 10.0) -> None:
    """Forward every frame from ``pull_url`` to the PUB socket until ``parent_fd`` reads end-of-file."""
    zctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    pub = zctx.socket(zmq.PUB)
    pull = zctx.socket(zmq.PULL)
    try:
        tune_listening_socket(pub, ipv6=ipv6, max_message_size=max_message_size)
        pub.setsockopt(zmq.SNDHWM, 100_000)
        pull.setsockopt(zmq.LINGER, 0)
        pull.setsockopt(zmq.RCVHWM, 0)
        _bind_with_retry(pub, publish_url, bind_patience)
        pull.bind(pull_url)
        _tell_master(READY)
        poller = zmq.Poller()
        poller.register(pull, zmq.POLLIN)
        poller.register(parent_fd, zmq.POLLIN)
        while True:
            events = dict(poller.poll())
            if parent_fd in events and not os.read(parent_fd, 4096):
                return  # the master is gone
            if pull in events:
                while True:
                    try:
                        frames = pull.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    pub.send_multipart(frames)
    finally:
        pub.close(linger=0)
        pull.close(linger=0)
        zctx.term()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="cloud_master.publish_daemon", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--publish", required=True, help="the PUB socket's address (tcp://HOST:PORT)")
    p.add_argument("--pull", required=True, help="where the master pushes frames (ipc://PATH)")
    p.add_argument("--ipv6", action="store_true")
    p.add_argument("--max-message-size", type=int, default=-1)
    p.add_argument("-l", "--log-level", default="warning")
    args = p.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="[publish %(levelname)-8s] %(message)s")
    raise_open_files_limit()
    try:
        serve(args.publish, args.pull, ipv6=args.ipv6, max_message_size=args.max_message_size,
              parent_fd=sys.stdin.fileno())
    except zmq.ZMQError as exc:
        _tell_master(f"cannot bind {args.publish}: {exc}")
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
