"""can.* on python-can's virtual bus, and across processes over python-can ``serial`` on a socat pty pair."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import can as pycan
import pytest

from device_modules import can
from device_modules.can import sim
from device_modules.context import DeviceContext
from device_modules.errors import DeviceIOError, DeviceTimeout, InvalidArguments
from tests.ptypair import PtyPair, needs_socat, pty_pair


@pytest.fixture
def channel(request: pytest.FixtureRequest) -> str:
    return f"t-{request.node.name}"  # virtual channels are process-wide: one per test


@pytest.fixture
def ctx(tmp_path: Path, channel: str) -> Iterator[DeviceContext]:
    c = DeviceContext(minion_id="car-1", hardware="sim", state_dir=tmp_path,
                      config={"can": {"channel": channel, "bitrate": 250000}})
    yield c
    c.resources.close()


@pytest.fixture
def ecu(channel: str) -> Iterator[pycan.BusABC]:
    with pycan.Bus(interface="virtual", channel=channel) as bus:
        yield bus


def test_send_reaches_another_node_with_the_right_id_width(ctx: DeviceContext, ecu: pycan.BusABC) -> None:
    assert can.send(ctx, "7DF", "02 01 0C") == {"channel": ctx.config["can"]["channel"], "arbitration_id": 0x7DF,
                                                "is_extended_id": False, "dlc": 3, "data": "02010c"}
    can.send(ctx, "18DB33F1", "02010C")
    can.send(ctx, "0x123", "", is_extended_id=True)
    got = [ecu.recv(1) for _ in range(3)]
    assert [(m.arbitration_id, m.is_extended_id, bytes(m.data)) for m in got if m] == [
        (0x7DF, False, b"\x02\x01\x0c"), (0x18DB33F1, True, b"\x02\x01\x0c"), (0x123, True, b"")]


def test_injected_frames_are_received_in_order(ctx: DeviceContext) -> None:
    sim.inject(ctx, "7E8", "04410c1a")
    sim.inject(ctx, 0x18DAF110, "0102")
    first = can.recv(ctx)
    assert {k: first[k] for k in ("arbitration_id", "is_extended_id", "dlc", "data")} == {
        "arbitration_id": 0x7E8, "is_extended_id": False, "dlc": 4, "data": "04410c1a"}
    assert abs(first["timestamp"] - time.time()) < 5
    assert can.recv(ctx)["arbitration_id"] == 0x18DAF110


def test_recv_on_a_silent_bus_times_out(ctx: DeviceContext) -> None:
    started = time.monotonic()
    with pytest.raises(DeviceTimeout, match="no CAN frame within 0.2 s"):
        can.recv(ctx, timeout=0.2)
    assert 0.2 <= time.monotonic() - started < 1.5


def test_filters_pass_only_matching_frames(ctx: DeviceContext) -> None:
    for ident in ("123", "7E9", "7EF", "7E8"):
        sim.inject(ctx, ident, "00")
    wanted = [{"can_id": "7E8", "can_mask": 0x7F8}]
    assert [f["arbitration_id"] for f in can.monitor(ctx, duration=0.3, filters=wanted)] == [0x7E9, 0x7EF, 0x7E8]
    sim.inject(ctx, "123", "00")
    with pytest.raises(DeviceTimeout):
        can.recv(ctx, timeout=0.1, filters=wanted)
    sim.inject(ctx, "124", "00")
    assert can.recv(ctx, timeout=0.5)["arbitration_id"] == 0x124  # the filter ended with its call


def test_monitor_stops_at_the_limit_or_the_duration(ctx: DeviceContext) -> None:
    for i in range(5):
        sim.inject(ctx, 0x100 + i, f"{i:02x}")
    assert [f["data"] for f in can.monitor(ctx, limit=2)] == ["00", "01"]
    started = time.monotonic()
    assert [f["data"] for f in can.monitor(ctx, duration=0.3)] == ["02", "03", "04"]
    assert 0.3 <= time.monotonic() - started < 1.5


@pytest.mark.parametrize("fmt", ["asc", "blf", "csv", "log"])
def test_dump_writes_a_log_python_can_reads_back(ctx: DeviceContext, tmp_path: Path, fmt: str) -> None:
    for i in range(3):
        sim.inject(ctx, 0x7E8, f"0441{i:02x}")
    out = can.dump(ctx, str(tmp_path / "logs" / "trip"), limit=3, format=fmt)
    assert out == {"path": str(tmp_path / "logs" / f"trip.{fmt}"), "frames": 3}
    back = list(pycan.LogReader(out["path"]))
    assert [(m.arbitration_id, bytes(m.data).hex()) for m in back] == [(0x7E8, f"0441{i:02x}") for i in range(3)]


def test_dump_puts_a_relative_path_in_the_state_dir_and_checks_the_suffix(ctx: DeviceContext) -> None:
    assert can.dump(ctx, "trip.csv", duration=0.05, format="csv")["path"] == str(ctx.state_dir / "trip.csv")
    with pytest.raises(InvalidArguments, match=r"trip.asc does not end in .blf"):
        can.dump(ctx, "trip.asc", duration=0.05, format="blf")
    with pytest.raises(InvalidArguments, match="format must be one of"):
        can.dump(ctx, "trip", duration=0.05, format="mf4")


@pytest.mark.parametrize("call", [
    lambda c: can.send(c, 0x800, "00", is_extended_id=False),
    lambda c: can.send(c, 0x20000000, "00"),
    lambda c: can.send(c, "7G", "00"),
    lambda c: can.send(c, True, "00"),
    lambda c: can.send(c, "7DF", "010203040506070809"),
    lambda c: can.send(c, "7DF", "0x12"),
    lambda c: can.send(c, "7DF", "00", is_extended_id="yes"),  # type: ignore[arg-type]
    lambda c: can.recv(c, timeout=-1),
    lambda c: can.recv(c, filters=[{"can_id": 1}]),
    lambda c: can.recv(c, filters={"can_id": 1, "can_mask": 1}),  # type: ignore[arg-type]
    lambda c: can.recv(c, filters=[{"can_id": 1, "can_mask": 1, "extended": "no"}]),
    lambda c: can.monitor(c, limit=0),
    lambda c: can.monitor(c, duration=float("inf")),
])
def test_nonsense_arguments_are_refused(ctx: DeviceContext, call: Callable[[DeviceContext], object]) -> None:
    with pytest.raises(InvalidArguments):
        call(ctx)


def test_status_of_the_simulator(ctx: DeviceContext) -> None:
    assert can.status(ctx) == {"backend": "sim", "interface": "virtual", "channel": ctx.config["can"]["channel"],
                               "bitrate": 250000, "state": "active"}


def test_a_send_waits_for_a_monitor_on_the_same_channel(ctx: DeviceContext, ecu: pycan.BusABC) -> None:
    watching = threading.Thread(target=can.monitor, args=(ctx,), kwargs={"duration": 0.4})
    watching.start()
    time.sleep(0.1)
    started = time.monotonic()
    can.send(ctx, "7DF", "00")
    waited = time.monotonic() - started
    watching.join()
    assert waited >= 0.2


def test_off_the_car_auto_uses_the_virtual_bus_and_says_why(tmp_path: Path) -> None:
    ctx = DeviceContext(minion_id="x", config={"can": {"root": str(tmp_path)}})
    got = can.available(ctx)
    assert (got.ok, got.backend) == (True, "sim")
    assert got.reason == "no CAN interface can0 (/sys/class/net/can0 missing); using python-can's virtual bus 'can0'"
    ctx.resources.close()


def test_real_mode_without_the_interface_is_unavailable(tmp_path: Path) -> None:
    ctx = DeviceContext(minion_id="x", hardware="real", config={"can": {"root": str(tmp_path), "channel": "can7"}})
    assert not can.available(ctx).ok
    assert can.available(ctx).reason == "no CAN interface can7 (/sys/class/net/can7 missing)"


def test_an_adapter_that_fails_to_open_is_a_device_error(tmp_path: Path) -> None:
    ctx = DeviceContext(minion_id="x", hardware="real",
                        config={"can": {"interface": "slcan", "channel": str(tmp_path / "ttyACM9")}})
    with pytest.raises(DeviceIOError, match="CAN slcan .*ttyACM9"):
        can.send(ctx, "7DF", "00")
    got = can.status(ctx)
    assert got["state"] == "down" and "ttyACM9" in got["error"]


# --- across processes: python-can `serial` framing over a socat pty pair (AUTOPI-NOTES §5.3) -------------------

PEER = textwrap.dedent("""
    import sys, time, can
    bus = can.Bus(interface="serial", channel=sys.argv[1], baudrate=115200)
    print("ready", flush=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        msg = bus.recv(0.1)
        if msg is None:
            continue
        if msg.arbitration_id == 0x7DF:          # an OBD request: answer like an ECU
            time.sleep(0.3)
            bus.send(can.Message(arbitration_id=0x7E8, data=b"\\x04\\x41\\x0c\\x1a\\xf8", is_extended_id=False))
        elif msg.arbitration_id == 0x100:        # "burst n": n frames 0x200.. after a pause
            time.sleep(0.3)
            for i in range(msg.data[0]):
                bus.send(can.Message(arbitration_id=0x200 + i, data=bytes([i]), is_extended_id=False))
        elif msg.arbitration_id == 0x7FF:
            break
    bus.shutdown()
""")


@pytest.fixture
def peer(tmp_path: Path) -> Iterator[tuple[PtyPair, subprocess.Popen[str]]]:
    with pty_pair(tmp_path, "can") as pair:
        proc = subprocess.Popen([sys.executable, "-c", PEER, pair.b], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield pair, proc
        proc.kill()
        proc.wait()


@pytest.fixture
def car(tmp_path: Path, peer: tuple[PtyPair, subprocess.Popen[str]]) -> DeviceContext:
    return DeviceContext(minion_id="car-1", hardware="real", state_dir=tmp_path,
                         config={"can": {"interface": "serial", "channel": peer[0].a, "bitrate": None,
                                         "options": {"baudrate": 115200}}})


@needs_socat
def test_a_peer_process_answers_a_request(car: DeviceContext) -> None:
    assert can.status(car)["state"] == "active"
    can.send(car, "7DF", "02010c")
    got = can.recv(car, timeout=3)
    assert (got["arbitration_id"], got["data"]) == (0x7E8, "04410c1af8")
    assert abs(got["timestamp"] - time.time()) < 5


@needs_socat
def test_monitor_and_dump_frames_from_a_peer_process(car: DeviceContext, tmp_path: Path) -> None:
    can.send(car, "100", "04")
    assert [f["arbitration_id"] for f in can.monitor(car, limit=4, duration=5)] == [0x200, 0x201, 0x202, 0x203]
    can.send(car, "100", "03")
    out = can.dump(car, str(tmp_path / "peer.log"), limit=3, duration=5, format="log")
    assert out["frames"] == 3
    assert [m.arbitration_id for m in pycan.LogReader(out["path"])] == [0x200, 0x201, 0x202]


@needs_socat
def test_the_peer_stops_on_command(car: DeviceContext, peer: tuple[PtyPair, subprocess.Popen[str]]) -> None:
    can.send(car, "7FF", "")
    assert peer[1].wait(timeout=5) == 0
