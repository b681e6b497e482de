"""The J1979 mode 01 table and the named decoders; every expected value is worked out by hand."""

from __future__ import annotations

from typing import Any

import pytest

from device_modules.obd import pids

# (name, data bytes after "41 <pid>", expected value, unit)
TABLE: list[tuple[str, str, Any, str | None]] = [
    ("RPM", "1A F8", 1726.0, "revolutions_per_minute"),          # 6904 / 4
    ("RPM", "FF FF", 16383.75, "revolutions_per_minute"),
    ("SPEED", "FF", 255, "kilometer_per_hour"),
    ("COOLANT_TEMP", "00", -40, "degree_Celsius"),
    ("COOLANT_TEMP", "7B", 83, "degree_Celsius"),                # 123 - 40
    ("ENGINE_LOAD", "FF", 100.0, "percent"),
    ("ENGINE_LOAD", "33", 20.0, "percent"),                      # 51 * 100 / 255
    ("SHORT_FUEL_TRIM_1", "80", 0.0, "percent"),
    ("SHORT_FUEL_TRIM_1", "00", -100.0, "percent"),
    ("LONG_FUEL_TRIM_2", "FF", 99.21875, "percent"),             # 127 * 100 / 128
    ("FUEL_PRESSURE", "64", 300, "kilopascal"),                  # 100 * 3
    ("INTAKE_PRESSURE", "65", 101, "kilopascal"),
    ("TIMING_ADVANCE", "00", -64.0, "degree"),
    ("TIMING_ADVANCE", "94", 10.0, "degree"),                    # 148 / 2 - 64
    ("INTAKE_TEMP", "3C", 20, "degree_Celsius"),
    ("MAF", "01 F4", 5.0, "gram_per_second"),                    # 500 / 100
    ("MAF", "FF FF", 655.35, "gram_per_second"),
    ("THROTTLE_POS", "33", 20.0, "percent"),
    ("O2_B1S1", "5A 80", 0.45, "volt"),                          # 90 / 200
    ("O2_B2S4", "C8 FF", 1.0, "volt"),                           # 200 / 200
    ("RUN_TIME", "0E 10", 3600, "second"),
    ("DISTANCE_W_MIL", "00 0A", 10, "kilometer"),
    ("FUEL_RAIL_PRESSURE_VAC", "03 E8", 79.0, "kilopascal"),     # 1000 * 0.079
    ("FUEL_RAIL_PRESSURE_DIRECT", "01 00", 2560, "kilopascal"),  # 256 * 10
    ("O2_S1_WR_VOLTAGE", "80 00 80 00", 4.0, "volt"),            # 32768 * 8 / 65536
    ("O2_S8_WR_VOLTAGE", "00 00 20 00", 1.0, "volt"),            # 8192 * 8 / 65536
    ("COMMANDED_EGR", "FF", 100.0, "percent"),
    ("EGR_ERROR", "80", 0.0, "percent"),
    ("EVAPORATIVE_PURGE", "00", 0.0, "percent"),
    ("FUEL_LEVEL", "66", 40.0, "percent"),                       # 102 * 100 / 255
    ("WARMUPS_SINCE_DTC_CLEAR", "05", 5, "count"),
    ("DISTANCE_SINCE_DTC_CLEAR", "04 D2", 1234, "kilometer"),
    ("EVAP_VAPOR_PRESSURE", "FF FC", -1.0, "pascal"),            # signed -4 / 4
    ("EVAP_VAPOR_PRESSURE", "7F FF", 8191.75, "pascal"),
    ("BAROMETRIC_PRESSURE", "65", 101, "kilopascal"),
    ("O2_S1_WR_CURRENT", "80 00 80 00", 0.0, "milliampere"),     # 32768 / 256 - 128
    ("O2_S3_WR_CURRENT", "80 00 81 00", 1.0, "milliampere"),     # 33024 / 256 - 128
    ("CATALYST_TEMP_B1S1", "11 94", 410.0, "degree_Celsius"),    # 4500 / 10 - 40
    ("CATALYST_TEMP_B2S2", "01 90", 0.0, "degree_Celsius"),      # 400 / 10 - 40
    ("CONTROL_MODULE_VOLTAGE", "31 38", 12.6, "volt"),           # 12600 / 1000
    ("ABSOLUTE_LOAD", "01 FE", 200.0, "percent"),                # 510 * 100 / 255
    ("COMMANDED_EQUIV_RATIO", "80 00", 1.0, "ratio"),            # 32768 * 2 / 65536
    ("RELATIVE_THROTTLE_POS", "FF", 100.0, "percent"),
    ("AMBIENT_AIR_TEMP", "3A", 18, "degree_Celsius"),
    ("ACCELERATOR_POS_D", "66", 40.0, "percent"),
    ("THROTTLE_ACTUATOR", "33", 20.0, "percent"),
    ("RUN_TIME_MIL", "00 3C", 60, "minute"),
    ("TIME_SINCE_DTC_CLEARED", "01 00", 256, "minute"),
    ("MAX_MAF", "19", 250, "gram_per_second"),                   # 25 * 10
    ("ETHANOL_PERCENT", "FF", 100.0, "percent"),
    ("EVAP_VAPOR_PRESSURE_ABS", "4E 20", 100.0, "kilopascal"),   # 20000 / 200
    ("EVAP_VAPOR_PRESSURE_ALT", "FF 38", -200, "pascal"),        # signed
    ("SHORT_O2_TRIM_B1", "00", -100.0, "percent"),
    ("FUEL_RAIL_PRESSURE_ABS", "00 64", 1000, "kilopascal"),     # 100 * 10
    ("OIL_TEMP", "82", 90, "degree_Celsius"),                    # 130 - 40
    ("FUEL_INJECT_TIMING", "69 00", 0.0, "degree"),              # 26880 / 128 - 210
    ("FUEL_INJECT_TIMING", "00 00", -210.0, "degree"),
    ("FUEL_RATE", "00 C8", 10.0, "liter_per_hour"),              # 200 / 20
    ("DRIVER_DEMAND_TORQUE", "96", 25, "percent"),               # 150 - 125
    ("ACTUAL_TORQUE", "00", -125, "percent"),
    ("REFERENCE_TORQUE", "01 90", 400, "newton_meter"),
    ("ENGINE_FRICTION_TORQUE", "7D", 0, "percent"),
    ("ODOMETER", "00 04 D2 F1", 31614.5, "kilometer"),           # 316145 / 10
    ("FUEL_TYPE", "04", "Diesel", None),
    ("OBD_COMPLIANCE", "06", "EOBD (Europe)", None),
    ("AUX_INPUT_STATUS", "01", True, None),
    ("FREEZE_DTC", "01 33", "P0133", None),
    ("FREEZE_DTC", "00 00", None, None),
    ("O2_SENSORS", "13", ["B1S1", "B1S2", "B2S1"], None),        # bits 0, 1, 4
    ("O2_SENSORS_ALT", "05", ["B1S1", "B2S1"], None),            # bits 0, 2
    ("FUEL_STATUS", "02 00", ["Closed loop, using oxygen sensor feedback to determine fuel mix"], None),
    ("AIR_STATUS", "04", "From the outside atmosphere or off", None),
    ("PIDS_A", "BE 1F A8 13", ["01", "03", "04", "05", "06", "07", "0C", "0D", "0E", "0F", "10", "11", "13",
                               "15", "1C", "1F", "20"], None),
    ("PIDS_C", "00 00 00 01", ["60"], None),
    ("MAX_VALUES", "01 02 03 04", {"equivalence_ratio": 1, "oxygen_sensor_voltage": 2,
                                   "oxygen_sensor_current": 3, "intake_pressure": 40}, None),
]


@pytest.mark.parametrize(("name", "data", "expected", "unit"), TABLE)
def test_decoded_value_and_unit(name: str, data: str, expected: Any, unit: str | None) -> None:
    command = pids.PIDS[name]
    value = command.decoder(bytes.fromhex(data))
    if isinstance(expected, float):
        assert value == pytest.approx(expected, abs=1e-9)
    else:
        assert value == expected
    assert command.unit == unit


def test_status_bits() -> None:
    # A=83: MIL on, 3 codes. B=07: misfire/fuel/components available, all complete; spark.
    # C=65 (bits 0, 2, 5, 6): catalyst, evap, O2 sensor, O2 heater available. D=04: evap incomplete.
    value = pids.PIDS["STATUS"].decoder(bytes.fromhex("83 07 65 04"))
    assert (value["mil"], value["dtc_count"], value["ignition_type"]) == (True, 3, "spark")
    monitors = value["monitors"]
    assert monitors["misfire"] == {"available": True, "complete": True}
    assert monitors["catalyst"] == {"available": True, "complete": True}
    assert monitors["evaporative_system"] == {"available": True, "complete": False}
    assert monitors["egr_system"] == {"available": False, "complete": True}
    diesel = pids.PIDS["STATUS"].decoder(bytes.fromhex("00 08 01 01"))
    assert diesel["ignition_type"] == "compression"
    assert diesel["monitors"]["nmhc_catalyst"] == {"available": True, "complete": False}


@pytest.mark.parametrize(("decoder", "data", "expected"), [
    ("raw_string", "1a f8", "1AF8"),
    ("uint8", "FF", 255),
    ("uint16", "12 34", 4660),
    ("uint24", "01 00 00", 65536),
    ("uint32", "00 01 00 00", 65536),
    ("int8", "80", -128),
    ("int16", "FF FE", -2),
    ("int32", "FF FF FF FF", -1),
    ("count", "07", 7),
    ("percent", "FF", 100.0),
    ("percent_centered", "00", -100.0),
    ("temp", "00", -40),
    ("voltage", "31 38", 12.6),
    ("ascii", "00 41 42 30 30 00", "AB00"),
    ("dtc", "02 01 04 C1 23", ["P0104", "U0123"]),
])
def test_named_decoders(decoder: str, data: str, expected: Any) -> None:
    assert pids.DECODERS[decoder](bytes.fromhex(data)) == expected


def test_short_answer_is_a_value_error_naming_the_bytes() -> None:
    with pytest.raises(ValueError, match="has 1 data bytes, needs 2: 1A"):
        pids.PIDS["RPM"].decoder(b"\x1a")


@pytest.mark.parametrize("name", ["RPM", "SPEED", "COOLANT_TEMP", "FUEL_LEVEL", "MAF", "CONTROL_MODULE_VOLTAGE",
                                  "EVAP_VAPOR_PRESSURE", "TIMING_ADVANCE", "FUEL_RATE"])
def test_linear_encode_is_the_inverse_of_decode(name: str) -> None:
    linear = pids.PIDS[name].decoder
    assert isinstance(linear, pids.Linear)
    for raw in (b"\x00\x00\x00\x00", b"\x12\x34\x56\x78", b"\xff\xfe\xfd\xfc"):
        data = raw[: linear.start + linear.nbytes]
        assert linear.encode(linear(data)) == data


def test_encode_clamps_to_the_range() -> None:
    assert pids.PIDS["SPEED"].decoder.encode(400) == b"\xff"  # type: ignore[attr-defined]
    assert pids.PIDS["COOLANT_TEMP"].decoder.encode(-100) == b"\x00"  # type: ignore[attr-defined]


def test_table_is_consistent() -> None:
    assert len({c.name for c in pids.COMMANDS}) == len(pids.COMMANDS)
    assert len({c.pid for c in pids.COMMANDS}) == len(pids.COMMANDS)
    assert all(c.mode == 1 and c.pid_bytes == bytes([c.pid]) for c in pids.COMMANDS)
    assert [f"{c.pid:02X}" for c in pids.COMMANDS if c.name.startswith("PIDS_")] == [
        "00", "20", "40", "60", "80", "A0", "C0"]
    assert set(pids.DECODER_UNITS) <= set(pids.DECODERS)


def test_lookup_is_case_insensitive_with_autopi_spelling() -> None:
    assert pids.lookup(" rpm ") is pids.PIDS["RPM"]
    assert pids.lookup("AMBIANT_AIR_TEMP") is pids.PIDS["AMBIENT_AIR_TEMP"]
    assert pids.lookup("NOT_A_PID") is None
