"""The mission's job end to end: fleet 'car-*' obd.query RPM across simulated and emulated cars."""

from __future__ import annotations

from pathlib import Path

from tests.fleet_harness import Master
from tests.obd_peers import emulator, pin


def test_cars_answer_rpm_and_vin(master: Master, make_minion, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with emulator(tmp_path) as emu:
        pin(emu, "010C", "41 0C 1A F8")  # 1726 rpm
        for car in ("car-0001", "car-0002", "car-0003"):
            make_minion(car)  # the OBD simulator (hardware: sim)
        make_minion("car-0004", config={"obd": {"port": emu.get_pty(), "hardware": "real", "timeout": 5}})
        master.wait_connected(4)
        data, proc = master.fleet_json("car-*", "obd.query", "RPM", timeout=90)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert sorted(data) == ["car-0001", "car-0002", "car-0003", "car-0004"]
        for car, reading in data.items():
            assert reading["_type"] == "rpm" and reading["unit"] == "revolutions_per_minute", (car, reading)
            assert isinstance(reading["value"], int | float) and reading["value"] >= 0
        assert data["car-0004"]["value"] == 1726.0, "the emulated car's pinned value must come through"
        vins, proc = master.fleet_json("car-*", "obd.vin", timeout=90)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        for car, vin in vins.items():
            assert len(vin["value"]) == 17, (car, vin)
        assert vins["car-0004"]["value"] == "WP0ZZZ99ZTS390000"
