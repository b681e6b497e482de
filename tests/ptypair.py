"""A socat pty pair: two serial ports wired back to back, for tests of real serial and CAN paths.

``socat -d -d pty,raw,echo=0,link=A pty,raw,echo=0,link=B`` (AUTOPI-NOTES §5.3):
what one side writes, the other reads. Needs the ``socat`` package.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["PtyPair", "needs_socat", "pty_pair"]

needs_socat = pytest.mark.skipif(shutil.which("socat") is None, reason="socat is not installed (apt-get install socat)")


@dataclass
class PtyPair:
    a: str
    b: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=5)


@contextmanager
def pty_pair(directory: Path, name: str = "tty") -> Iterator[PtyPair]:
    """Start socat and yield the two link paths once both exist; stop socat afterwards."""
    a, b = directory / f"{name}A", directory / f"{name}B"
    log = directory / f"{name}.socat.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            ["socat", "-d", "-d", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
            stdout=subprocess.DEVNULL, stderr=err)
    pair = PtyPair(str(a), str(b), proc)
    try:
        deadline = time.monotonic() + 10
        while not (a.exists() and b.exists()):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"socat did not make the pty pair: {log.read_text()}")
            time.sleep(0.01)
        yield pair
    finally:
        pair.stop()
