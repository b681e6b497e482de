"""One suite for every CAN backend, each facing a peer node on the same bus.

Simulator: the peer is another python-can ``virtual`` bus on the channel. Real
backend: python-can's ``serial`` interface on one end of a socat pty pair, the
peer on the other end. The peer repeats its frames every 20 ms while a test
needs them, since the real backend only hears what arrives during a call.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import can as pycan
import pytest

from device_modules import can
from device_modules.context import DeviceContext
from device_modules.errors import DeviceTimeout
from tests.ptypair import needs_socat, pty_pair


class Repeater:
    """Sends ``frames`` round-robin on the peer bus until stopped."""

    def __init__(self, bus: pycan.BusABC, frames: list[pycan.Message]) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(bus, frames), daemon=True)
        self._thread.start()

    def _run(self, bus: pycan.BusABC, frames: list[pycan.Message]) -> None:
        while not self._stop.is_set():
            for msg in frames:
                bus.send(msg)
            self._stop.wait(0.02)

    def __enter__(self) -> Repeater:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def frame(ident: int, data: bytes) -> pycan.Message:
    return pycan.Message(arbitration_id=ident, data=data, is_extended_id=ident > 0x7FF)


class CanContract:
    """Behaviour of ``can.*`` on a bus with one peer. Subclasses give ``rig``: (ctx, peer bus)."""

    @pytest.fixture
    def rig(self, tmp_path: Path) -> Iterator[tuple[DeviceContext, pycan.BusABC]]:
        raise NotImplementedError

    def test_the_peer_receives_what_is_sent(self, rig: tuple[DeviceContext, pycan.BusABC]) -> None:
        ctx, peer = rig
        can.send(ctx, "7DF", "02010c")
        can.send(ctx, "18DB33F1", "0209")
        got = [peer.recv(2), peer.recv(2)]
        assert [(m.arbitration_id, m.is_extended_id, bytes(m.data).hex()) for m in got if m] == [
            (0x7DF, False, "02010c"), (0x18DB33F1, True, "0209")]

    def test_recv_gets_a_frame_from_the_peer(self, rig: tuple[DeviceContext, pycan.BusABC]) -> None:
        ctx, peer = rig
        with Repeater(peer, [frame(0x7E8, b"\x04\x41\x0c\x1a\xf8")]):
            got = can.recv(ctx, timeout=3)
        assert {k: got[k] for k in ("arbitration_id", "is_extended_id", "dlc", "data")} == {
            "arbitration_id": 0x7E8, "is_extended_id": False, "dlc": 5, "data": "04410c1af8"}

    def test_filters_hold_back_other_frames(self, rig: tuple[DeviceContext, pycan.BusABC]) -> None:
        ctx, peer = rig
        wanted = [{"can_id": 0x18DAF100, "can_mask": 0x1FFFFF00, "extended": True}]
        with Repeater(peer, [frame(0x123, b"\x01"), frame(0x18DAF110, b"\x02"), frame(0x7E8, b"\x03")]):
            got = can.monitor(ctx, limit=4, duration=5, filters=wanted)
        assert [(f["arbitration_id"], f["data"]) for f in got] == [(0x18DAF110, "02")] * 4

    def test_monitor_limit_and_dump(self, rig: tuple[DeviceContext, pycan.BusABC], tmp_path: Path) -> None:
        ctx, peer = rig
        with Repeater(peer, [frame(0x7E8, b"\x10"), frame(0x7E9, b"\x11")]):
            assert len(can.monitor(ctx, limit=3, duration=5)) == 3
            out = can.dump(ctx, str(tmp_path / "bus.asc"), limit=5, duration=5)
        assert out["frames"] == 5
        assert {m.arbitration_id for m in pycan.LogReader(out["path"])} <= {0x7E8, 0x7E9}

    def test_silence_is_a_timeout(self, rig: tuple[DeviceContext, pycan.BusABC]) -> None:
        ctx, _ = rig
        with pytest.raises(DeviceTimeout):
            can.recv(ctx, timeout=0.2)

    def test_status_reports_an_active_bus(self, rig: tuple[DeviceContext, pycan.BusABC]) -> None:
        ctx, _ = rig
        assert can.status(ctx)["state"] == "active"


class TestVirtualBus(CanContract):
    @pytest.fixture
    def rig(self, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[DeviceContext, pycan.BusABC]]:
        channel = f"contract-{request.node.name}"
        ctx = DeviceContext(minion_id="t", hardware="sim", state_dir=tmp_path, config={"can": {"channel": channel}})
        can.status(ctx)  # the simulator's bus listens from its first use
        with pycan.Bus(interface="virtual", channel=channel) as peer:
            yield ctx, peer
        ctx.resources.close()


@needs_socat
class TestSerialOverPty(CanContract):
    @pytest.fixture
    def rig(self, tmp_path: Path) -> Iterator[tuple[DeviceContext, pycan.BusABC]]:
        with pty_pair(tmp_path, "can") as pair:
            ctx = DeviceContext(minion_id="t", hardware="real", state_dir=tmp_path,
                                config={"can": {"interface": "serial", "channel": pair.a, "bitrate": None}})
            with pycan.Bus(interface="serial", channel=pair.b) as peer:
                yield ctx, peer
            ctx.resources.close()
