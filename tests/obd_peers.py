"""Test peers for the ``obd`` module: the ELM327-emulator in-process, and a socat pty pair for its SLCAN mode.

The emulator (PyPI ``ELM327-emulator``, CC-BY-NC-SA) is a test-time
dependency only; product code never imports it (AUTOPI-NOTES §5.2).

* :func:`emulator` runs ``elm.Elm`` in this process on a fresh pty (or, with
  ``slcan_port``, as an SLCAN CAN adapter on that serial port; with
  ``net_port``, on a TCP port of 127.0.0.1) with the
  ``car`` scenario; its own logging setup is made a no-op so pytest keeps the
  root logger.
* :func:`pin` fixes the answer to one request (``"010C"``) so a test can
  assert exact values; :func:`stored_dtcs` sets the scenario's stored codes.
* :func:`socat_pair` wires two ptys back to back; a missing ``socat`` fails
  the test with the package to install rather than skipping it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

__all__ = ["emulator", "pin", "pin_raw", "socat_pair", "stored_dtcs"]

_QUIET_LOGGING = "version: 1\nincremental: true\n"


@contextmanager
def emulator(workdir: Path, scenario: str = "car", **options: Any) -> Iterator[Any]:
    """A running ``elm.Elm`` with ``scenario``; ``emu.get_pty()`` is its pty in ELM327 mode.

    ``options`` go to ``Elm``: ``slcan_port=<serial port>`` for an SLCAN adapter,
    ``net_port=<tcp port>`` for an ELM327 on 127.0.0.1.
    """
    from elm import Elm

    config = workdir / "elm-logging.yaml"
    config.write_text(_QUIET_LOGGING)
    saved = os.environ.get("ELM_LOG_CFG")
    os.environ["ELM_LOG_CFG"] = str(config)
    try:
        with Elm(batch_mode=True, **options) as emu:
            deadline = time.monotonic() + 10
            while emu.threadState == emu.THREAD.STARTING:
                if time.monotonic() > deadline:
                    raise RuntimeError("the ELM327-emulator did not start")
                time.sleep(0.01)
            emu.set_sorted_obd_msg(scenario)
            yield emu
    finally:
        if saved is None:
            os.environ.pop("ELM_LOG_CFG", None)
        else:
            os.environ["ELM_LOG_CFG"] = saved


def _key_for(emu: Any, request: str) -> str:
    """The scenario entry the emulator uses for ``request`` (the first whose pattern matches)."""
    for key, entry in emu.sortedOBDMsg:
        pattern = entry.get("Request")
        if pattern and re.match(pattern, request):
            return str(key)
    raise KeyError(f"the emulator scenario has no entry for {request}")


def pin_raw(emu: Any, request: str, response: str) -> None:
    """Answer ``request`` with the emulator's response markup from now on."""
    emu.answer[_key_for(emu, request)] = response


def pin(emu: Any, request: str, data: str, header: str = "7E8") -> None:
    """Answer ``request`` (``"010C"``) with one CAN frame of ``data`` (``"41 0C 1A F8"``) from ``header``."""
    size = len(bytes.fromhex(data))
    pin_raw(emu, request, f"<header>{header}</header><size>{size:02X}</size><data>{data}</data>")


def stored_dtcs(codes: list[str]) -> None:
    """Make the ``car`` scenario report ``codes`` (two bytes each in hex, ``"0104"`` is P0104) in mode 03."""
    from elm import obd_message

    obd_message.DTC_STORED[:] = codes


@contextmanager
def socat_pair(directory: Path) -> Iterator[tuple[str, str]]:
    """Two ptys wired back to back by socat: ``(a, b)``; what one side writes the other reads."""
    if shutil.which("socat") is None:
        pytest.fail("socat is not installed; the CAN-path tests need it (apt-get install -y socat)")
    a, b = directory / "slcanA", directory / "slcanB"
    log = directory / "socat.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(["socat", "-d", "-d", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
                                stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 10
        while not (a.exists() and b.exists()):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"socat did not make the pty pair: {log.read_text()}")
            time.sleep(0.01)
        yield str(a), str(b)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=5)
