"""The simulated car: answers as bytes, plausible values over time, and its test verbs."""

from __future__ import annotations

import random

import pytest

from device_modules.errors import DeviceIOError
from device_modules.obd.decode import answer, assemble, decode_vin
from device_modules.obd.errors import AdapterError, NoData
from device_modules.obd.pids import PIDS
from device_modules.obd.sim import Simulator


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def read(sim: Simulator, name: str) -> object:
    command = PIDS[name]
    return command.decoder(answer(sim.query(1, command.pid_bytes), 1, command.pid_bytes)[1])


def test_values_move_plausibly_with_time() -> None:
    clock = Clock()
    sim = Simulator(clock=clock, rng=random.Random(7))
    cold = read(sim, "COOLANT_TEMP")
    seen_speeds = set()
    for _ in range(40):
        clock.now += 15
        speed = read(sim, "SPEED")
        rpm = read(sim, "RPM")
        assert isinstance(speed, int) and 0 <= speed <= 110
        assert isinstance(rpm, float) and 700 <= rpm <= 5000
        seen_speeds.add(speed)
    assert len(seen_speeds) > 10  # it drives, it does not sit still
    warm = read(sim, "COOLANT_TEMP")
    assert isinstance(cold, int) and isinstance(warm, int) and cold < 30 and 80 <= warm <= 92
    fuel = read(sim, "FUEL_LEVEL")
    assert isinstance(fuel, float) and 0 < fuel < 72


def test_same_seed_same_car() -> None:
    a, b = Simulator(clock=Clock(), rng=random.Random(3)), Simulator(clock=Clock(), rng=random.Random(3))
    assert [read(a, "RPM") for _ in range(5)] == [read(b, "RPM") for _ in range(5)]


def test_pinned_values_and_engine_off() -> None:
    sim = Simulator(clock=Clock())
    sim.set_value("RPM", 900)
    sim.set_value("SPEED", 42)
    assert (read(sim, "RPM"), read(sim, "SPEED")) == (900.0, 42)
    sim.set_value("RPM", None)
    sim.stop_engine()
    assert (read(sim, "RPM"), read(sim, "SPEED")) == (0.0, 42)
    assert sim.voltage() == 12.6
    sim.start_engine()
    assert sim.voltage() == 14.1
    sim.set_value("BATTERY", 11.9)
    assert sim.voltage() == 11.9
    with pytest.raises(ValueError, match="no value 'GEAR'"):
        sim.set_value("GEAR", 3)
    with pytest.raises(ValueError, match="17 characters"):
        sim.set_value("VIN", "SHORT")


def test_bitmaps_list_exactly_the_simulated_pids() -> None:
    sim = Simulator(clock=Clock())
    listed = read(sim, "PIDS_A")
    assert listed == ["01", "04", "05", "06", "07", "0B", "0C", "0D", "0E", "0F", "10", "11", "1C", "1F", "20"]
    for pid in listed:
        if pid != "20":
            sim.query(1, bytes.fromhex(pid))  # every listed PID answers
    with pytest.raises(NoData, match="010A"):
        sim.query(1, b"\x0a")


def test_dtcs_status_and_clearing() -> None:
    sim = Simulator(clock=Clock(), dtcs=["P0104"])
    status = read(sim, "STATUS")
    assert isinstance(status, dict) and (status["mil"], status["dtc_count"]) == (True, 1)
    sim.set_dtcs(["P0104", "U0123"])
    [message] = sim.query(3, b"")
    assert message.data == bytes.fromhex("43 02 01 04 C1 23")
    assert sim.query(4, b"")[0].data == b"\x44"
    assert sim.query(3, b"")[0].data == b"\x43\x00"
    with pytest.raises(ValueError, match="not a trouble code"):
        sim.set_dtcs(["XYZ"])


def test_vin_is_multi_frame_like_a_car() -> None:
    sim = Simulator(vin="WP0ZZZ99ZTS390000")
    [message] = sim.query(9, b"\x02")
    assert len(message.frames) == 3
    assert assemble(message.frames)[0].data == message.data
    assert decode_vin(answer([message], 9, b"\x02")[1]) == "WP0ZZZ99ZTS390000"
    assert sim.send(bytes.fromhex("0902"))[0] == "7E81014490201575030"


def test_headers_and_unknown_services() -> None:
    sim = Simulator()
    assert sim.query(1, b"\x0d", header="7E0")[0].ecu == "7E8"
    with pytest.raises(NoData, match="header 7E1"):
        sim.query(1, b"\x0d", header="7E1")
    assert sim.query(0x22, b"\xf1\x90")[0].data == b"\x7f\x22\x11"  # serviceNotSupported


def test_disconnect_and_close() -> None:
    sim = Simulator()
    sim.query(1, b"\x0d")
    assert sim.status() == "Car Connected"
    sim.disconnect()
    assert sim.status() == "Not Connected"
    with pytest.raises(DeviceIOError, match="disconnected"):
        sim.query(1, b"\x0d")
    with pytest.raises(DeviceIOError, match="disconnected"):
        sim.voltage()
    sim.reconnect()
    assert sim.query(1, b"\x0d")
    sim.close()
    with pytest.raises(DeviceIOError, match="closed"):
        sim.query(1, b"\x0d")


def test_protocol() -> None:
    sim = Simulator()
    assert sim.protocol().as_dict() == {"id": "6", "name": "ISO 15765-4 (CAN 11/500)", "auto": False}
    assert sim.set_protocol("0").auto is True
    with pytest.raises(AdapterError, match="UNABLE TO CONNECT"):
        sim.set_protocol("3")
