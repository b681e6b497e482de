"""One suite for every serial backend, each facing an echo device.

Simulator: a logical name is pyserial's ``loop://``, which echoes. Real backend:
a socat pty pair with a peer thread on the far side echoing every byte.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial as pyserial

from device_modules import serial
from device_modules.context import DeviceContext
from device_modules.errors import DeviceTimeout
from tests.ptypair import needs_socat, pty_pair


class SerialContract:
    """Behaviour of ``serial.*`` against an echo device. Subclasses give ``rig``: (ctx, port)."""

    @pytest.fixture
    def rig(self, tmp_path: Path) -> Iterator[tuple[DeviceContext, str]]:
        raise NotImplementedError

    def test_write_then_read_gets_the_echo(self, rig: tuple[DeviceContext, str]) -> None:
        ctx, port = rig
        assert serial.write(ctx, port, "hello\n")["written"] == 6
        assert serial.read(ctx, port, line=True, timeout=2)["data"] == "hello\n"

    def test_hex_round_trip(self, rig: tuple[DeviceContext, str]) -> None:
        ctx, port = rig
        serial.write(ctx, port, "00ff7e", hex=True)
        assert serial.read(ctx, port, size=3, hex=True, timeout=2)["data"] == "00ff7e"

    def test_query_stops_at_the_terminator(self, rig: tuple[DeviceContext, str]) -> None:
        ctx, port = rig
        assert serial.query(ctx, port, "AT\r", timeout=2)["data"] == "AT"

    def test_query_without_terminator_is_a_timeout(self, rig: tuple[DeviceContext, str]) -> None:
        ctx, port = rig
        with pytest.raises(DeviceTimeout):
            serial.query(ctx, port, "AT", timeout=0.2)

    def test_read_answers_empty_when_nothing_comes(self, rig: tuple[DeviceContext, str]) -> None:
        ctx, port = rig
        assert serial.read(ctx, port, timeout=0.1)["size"] == 0

    def test_a_baudrate_change_keeps_working(self, rig: tuple[DeviceContext, str]) -> None:
        ctx, port = rig
        assert serial.query(ctx, port, "x\r", baudrate=115200, timeout=2)["data"] == "x"
        assert serial.query(ctx, port, "y\r", baudrate=9600, timeout=2)["data"] == "y"


class TestLoopSimulator(SerialContract):
    @pytest.fixture
    def rig(self, tmp_path: Path) -> Iterator[tuple[DeviceContext, str]]:
        ctx = DeviceContext(minion_id="t", hardware="sim", state_dir=tmp_path)
        yield ctx, "echo"
        ctx.resources.close()


def _echo(path: str, stop: threading.Event) -> None:
    with pyserial.Serial(path, timeout=0.05) as port:
        while not stop.is_set():
            data = port.read(256)
            if data:
                port.write(data)


@needs_socat
class TestPtyWithEchoPeer(SerialContract):
    @pytest.fixture
    def rig(self, tmp_path: Path) -> Iterator[tuple[DeviceContext, str]]:
        with pty_pair(tmp_path) as pair:
            stop = threading.Event()
            peer = threading.Thread(target=_echo, args=(pair.b, stop), daemon=True)
            peer.start()
            time.sleep(0.05)
            ctx = DeviceContext(minion_id="t", hardware="real", state_dir=tmp_path)
            yield ctx, pair.a
            ctx.resources.close()
            stop.set()
            peer.join()
