"""One contract for every ``obd`` backend, run through the public functions.

* :class:`TestSimulator`: the in-memory simulated car;
* :class:`TestElm327Emulator`: our ELM327 client against the ELM327-emulator
  on its pty (``car`` scenario);
* :class:`TestCanSlcan`: python-can's ``slcan`` interface plus can-isotp
  against the emulator's SLCAN adapter mode, over a socat pty pair.

Each peer is told the exact bytes (emulator) or value (simulator) to answer,
so every expected value below is written out by hand.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import device_modules.obd as obd
from device_modules.context import DeviceContext
from device_modules.errors import ConfirmationRequired, DeviceIOError
from device_modules.obd.errors import NoData, UnsupportedCommand
from device_modules.obd.session import RESOURCE, Session
from device_modules.obd.sim import Simulator
from tests.obd_peers import emulator, pin, pin_raw, socat_pair, stored_dtcs

VIN = "WP0ZZZ99ZTS390000"


class Car:
    """A backend under test and the verbs that make its vehicle answer what a test expects."""

    backend = ""

    def __init__(self, ctx: DeviceContext) -> None:
        self.ctx = ctx

    def pin(self, name: str, request: str, data: str, value: float) -> None:
        """Make ``name`` answer ``data`` (the bytes after ``41 <pid>``) which decodes to ``value``."""
        raise NotImplementedError

    def set_dtcs(self, codes: list[str], raw: list[str]) -> None:
        raise NotImplementedError

    def set_vin(self, vin: str) -> None:
        raise NotImplementedError

    def set_battery(self, volts: float) -> None:
        raise NotImplementedError


class SimCar(Car):
    backend = "sim"

    def __init__(self) -> None:
        super().__init__(DeviceContext("car-sim", config={"obd": {"hardware": "sim"}}))
        self.sim = Simulator()
        self.ctx.resources.get(RESOURCE, lambda: Session(self.sim))

    def pin(self, name: str, request: str, data: str, value: float) -> None:
        self.sim.set_value(name, value)

    def set_dtcs(self, codes: list[str], raw: list[str]) -> None:
        self.sim.set_dtcs(codes)

    def set_vin(self, vin: str) -> None:
        self.sim.set_value("VIN", vin)

    def set_battery(self, volts: float) -> None:
        self.sim.set_value("BATTERY", volts)


class EmulatorCar(Car):
    backend = "elm327"

    def __init__(self, ctx: DeviceContext, emu: Any) -> None:
        super().__init__(ctx)
        self.emu = emu
        emu.answer.clear()
        emu.counters.pop("cmd_dtc_cleared", None)
        stored_dtcs([])

    def pin(self, name: str, request: str, data: str, value: float) -> None:
        pin(self.emu, request, f"41 {request[2:]} {data}")

    def set_dtcs(self, codes: list[str], raw: list[str]) -> None:
        stored_dtcs(raw)

    def set_vin(self, vin: str) -> None:
        pin_raw(self.emu, "0902", f"<pos_answer>01 {vin.encode().hex(' ').upper()}</pos_answer>")

    def set_battery(self, volts: float) -> None:
        pin_raw(self.emu, "ATRV", f"<writeln>{volts:.1f}V</writeln>")


class SlcanCar(EmulatorCar):
    backend = "can"

    def set_battery(self, volts: float) -> None:  # a CAN interface has no ATRV: the ECU's PID 42 is read
        self.pin("CONTROL_MODULE_VOLTAGE", "0142", f"{round(volts * 1000):04X}", volts)


def _recent(stamp: str) -> bool:
    when = datetime.datetime.fromisoformat(stamp)
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    return when.tzinfo is None and abs((now - when).total_seconds()) < 60


class ObdContract:
    """What every backend must do; subclasses provide the ``car`` fixture."""

    def test_query_by_name_decodes_the_answer(self, car: Car) -> None:
        car.pin("RPM", "010C", "1A F8", 1726.0)
        result = obd.query(car.ctx, "RPM")
        assert {k: v for k, v in result.items() if k != "_stamp"} == {
            "_type": "rpm", "value": 1726.0, "unit": "revolutions_per_minute"}
        assert _recent(result["_stamp"])

    @pytest.mark.parametrize(("name", "request_", "data", "value", "unit"), [
        ("SPEED", "010D", "32", 50, "kilometer_per_hour"),
        ("COOLANT_TEMP", "0105", "7B", 83, "degree_Celsius"),
    ])
    def test_more_pids(self, car: Car, name: str, request_: str, data: str, value: int, unit: str) -> None:
        car.pin(name, request_, data, value)
        result = obd.query(car.ctx, name.lower())
        assert (result["_type"], result["value"], result["unit"]) == (name.lower(), value, unit)

    def test_query_many_keys_results_by_name(self, car: Car) -> None:
        car.pin("RPM", "010C", "0B B8", 750.0)
        car.pin("SPEED", "010D", "00", 0)
        results = obd.query_many(car.ctx, "RPM", "SPEED")
        assert {name: r["value"] for name, r in results.items()} == {"rpm": 750.0, "speed": 0}

    def test_commands_lists_what_the_bitmaps_say(self, car: Car) -> None:
        listed = obd.commands(car.ctx)
        assert "ISO 15765-4 (CAN 11/500)" == listed["protocol"]
        assert {"RPM", "SPEED", "COOLANT_TEMP", "PIDS_B"} <= set(listed["supported"])
        assert "FUEL_PRESSURE" not in listed["supported"]

    def test_unsupported_pid_is_refused_without_force(self, car: Car) -> None:
        with pytest.raises(UnsupportedCommand, match="force=True"):
            obd.query(car.ctx, "FUEL_PRESSURE")

    def test_unsupported_pid_with_force_is_no_data(self, car: Car) -> None:
        with pytest.raises(NoData, match="NO DATA") as caught:
            obd.query(car.ctx, "FUEL_PRESSURE", force=True)
        assert isinstance(caught.value, DeviceIOError)

    def test_custom_request_with_named_decoder_and_unit(self, car: Car) -> None:
        car.pin("SPEED", "010D", "32", 50)
        result = obd.query(car.ctx, "my_speed", mode="01", pid="0D", decoder="uint8", unit="km/h")
        assert (result["_type"], result["value"], result["unit"]) == ("my_speed", 50, "km/h")

    def test_custom_request_defaults_to_raw_hex(self, car: Car) -> None:
        car.pin("RPM", "010C", "1A F8", 1726.0)
        assert obd.query(car.ctx, "raw_rpm", pid="0C")["value"] == "1AF8"

    def test_header_addresses_the_engine_ecu(self, car: Car) -> None:
        car.pin("RPM", "010C", "1A F8", 1726.0)
        assert obd.query(car.ctx, "RPM", header="7E0")["value"] == 1726.0
        assert obd.query(car.ctx, "RPM")["value"] == 1726.0  # and back to all ECUs

    def test_dtc_lists_stored_codes_with_text(self, car: Car) -> None:
        car.set_dtcs(["P0104", "U0123"], raw=["0104", "C123"])
        result = obd.dtc(car.ctx)
        assert result["_type"] == "dtc"
        assert [v["code"] for v in result["values"]] == ["P0104", "U0123"]
        assert result["values"][0]["text"] == "Mass or Volume Air Flow Circuit Intermittent"

    def test_dtc_without_codes_is_empty(self, car: Car) -> None:
        assert obd.dtc(car.ctx)["values"] == []

    def test_dtc_clear_needs_confirmation_and_sends_nothing(self, car: Car) -> None:
        car.set_dtcs(["P0300"], raw=["0300"])
        with pytest.raises(ConfirmationRequired, match="confirm=True"):
            obd.dtc(car.ctx, clear=True)
        assert [v["code"] for v in obd.dtc(car.ctx)["values"]] == ["P0300"]

    def test_dtc_clear_with_confirmation(self, car: Car) -> None:
        car.set_dtcs(["P0300"], raw=["0300"])
        result = obd.dtc(car.ctx, clear=True, confirm=True)
        assert result["cleared"] is True and result["values"] == []
        assert obd.dtc(car.ctx)["values"] == []

    def test_vin_has_all_17_characters(self, car: Car) -> None:
        car.set_vin(VIN)
        assert obd.vin(car.ctx)["value"] == VIN

    def test_battery(self, car: Car) -> None:
        car.set_battery(12.6)
        result = obd.battery(car.ctx)
        assert {k: v for k, v in result.items() if k != "_stamp"} == {
            "_type": "bat", "voltage": 12.6, "level": 89, "state": "discharging"}

    def test_status_reaches_the_car(self, car: Car) -> None:
        assert obd.status(car.ctx) == {"connection": "Car Connected", "protocol": "ISO 15765-4 (CAN 11/500)",
                                       "backend": car.backend}

    def test_protocol_reports_and_sets_can_11_500(self, car: Car) -> None:
        assert obd.protocol(car.ctx)["id"] == "6"
        assert obd.protocol(car.ctx, set="6")["id"] == "6"
        car.pin("SPEED", "010D", "32", 50)
        assert obd.query(car.ctx, "SPEED")["value"] == 50

    def test_send_returns_frames_as_printed(self, car: Car) -> None:
        car.pin("RPM", "010C", "1A F8", 1726.0)
        assert obd.send(car.ctx, "010C") == ["7E804410C1AF8"]

    def test_concurrent_jobs_never_interleave(self, car: Car) -> None:
        car.pin("RPM", "010C", "1A F8", 1726.0)
        car.pin("SPEED", "010D", "32", 50)
        obd.query(car.ctx, "RPM")  # connect first, so that every thread finds the handle
        seen: list[Any] = []

        def job() -> None:
            for _ in range(4):
                seen.append(obd.query(car.ctx, "RPM")["value"])
                seen.append(obd.query(car.ctx, "SPEED")["value"])

        threads = [threading.Thread(target=job) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(seen) == [50] * 16 + [1726.0] * 16


class TestSimulator(ObdContract):
    @pytest.fixture
    def car(self) -> Iterator[Car]:
        car = SimCar()
        yield car
        car.ctx.resources.close()


@pytest.fixture(scope="module")
def elm_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, DeviceContext]]:
    with emulator(tmp_path_factory.mktemp("elm")) as emu:
        ctx = DeviceContext("car-elm", config={"obd": {"hardware": "real", "port": emu.get_pty(), "timeout": 5}})
        yield emu, ctx
        ctx.resources.close()


@pytest.fixture(scope="module")
def slcan_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, DeviceContext]]:
    directory: Path = tmp_path_factory.mktemp("slcan")
    with socat_pair(directory) as (adapter_side, host_side), emulator(directory, slcan_port=adapter_side) as emu:
        can = {"interface": "slcan", "channel": host_side, "bitrate": 500000, "sleep_after_open": 0}
        ctx = DeviceContext("car-can", config={"obd": {"hardware": "real", "backend": "can", "can": can}})
        yield emu, ctx
        ctx.resources.close()


class TestElm327Emulator(ObdContract):
    @pytest.fixture
    def car(self, elm_peer: tuple[Any, DeviceContext]) -> Car:
        return EmulatorCar(elm_peer[1], elm_peer[0])


class TestCanSlcan(ObdContract):
    @pytest.fixture
    def car(self, slcan_peer: tuple[Any, DeviceContext]) -> Car:
        return SlcanCar(slcan_peer[1], slcan_peer[0])
