"""The SAE J1979 mode 01 PIDs by name, with decoders and units, and the named decoders.

A decoder takes the data bytes of an answer after the service byte and the
PID echo (``1A F8`` of ``41 0C 1A F8``) and returns the value; byte ``A`` is
``data[0]``. Most PIDs are linear (:class:`Linear`: ``raw * mul / div + offset``
over one to four bytes), which also lets the simulator encode values.

Units are spelled as pint names (``revolutions_per_minute``,
``kilometer_per_hour``...), the form AutoPi's ``obd.query`` returns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from device_modules.obd.decode import supported_from_bitmap
from device_modules.obd.dtc import decode_dtc, parse_dtcs

__all__ = ["BY_PID", "COMMANDS", "DECODERS", "DECODER_UNITS", "PIDS", "Command", "Decoder", "Linear", "lookup"]

Decoder = Callable[[bytes], Any]

RPM, KPH, CELSIUS, PERCENT = "revolutions_per_minute", "kilometer_per_hour", "degree_Celsius", "percent"
KPA, PASCAL, GPS, DEGREE, VOLT = "kilopascal", "pascal", "gram_per_second", "degree", "volt"
SECOND, MINUTE, KM, LPH, MA, RATIO, NM, COUNT = (
    "second", "minute", "kilometer", "liter_per_hour", "milliampere", "ratio", "newton_meter", "count")


def _need(data: bytes, count: int) -> bytes:
    if len(data) < count:
        raise ValueError(f"answer has {len(data)} data bytes, needs {count}: {data.hex(' ').upper() or 'none'}")
    return data


@dataclass(frozen=True)
class Linear:
    """``int(data[start:start+nbytes]) * mul / div + offset``; an int when no division is involved."""

    nbytes: int
    mul: float = 1
    div: float = 1
    offset: float = 0
    signed: bool = False
    start: int = 0

    def __call__(self, data: bytes) -> float | int:
        _need(data, self.start + self.nbytes)
        raw = int.from_bytes(data[self.start:self.start + self.nbytes], "big", signed=self.signed)
        if self.div == 1 and isinstance(self.mul, int) and isinstance(self.offset, int):
            return raw * self.mul + self.offset
        return raw * self.mul / self.div + self.offset

    def encode(self, value: float) -> bytes:
        """The bytes that decode to the value nearest ``value`` (clamped to the PID's range)."""
        bits = 8 * self.nbytes
        low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if self.signed else (0, (1 << bits) - 1)
        raw = min(high, max(low, round((value - self.offset) * self.div / self.mul)))
        return bytes(self.start) + raw.to_bytes(self.nbytes, "big", signed=self.signed)


uint8, uint16, uint24, uint32 = Linear(1), Linear(2), Linear(3), Linear(4)
int8, int16, int32 = Linear(1, signed=True), Linear(2, signed=True), Linear(4, signed=True)
percent = Linear(1, 100, 255)
percent_centered = Linear(1, 100, 128, -100)
temp = Linear(1, offset=-40)
voltage = Linear(2, 1, 1000)


def raw_string(data: bytes) -> str:
    """The data bytes as upper-case hex without spaces."""
    return data.hex().upper()


def ascii_text(data: bytes) -> str:
    """The data as ASCII, NUL padding at the ends removed (``0`` characters are kept)."""
    return data.strip(b"\0").decode("ascii", errors="replace")


def dtc_list(data: bytes) -> list[str]:
    """Trouble codes, as :func:`~device_modules.obd.dtc.parse_dtcs` reads them."""
    return parse_dtcs(data)


def _bitmap(base: int) -> Decoder:
    def decode(data: bytes) -> list[str]:
        return [f"{pid:02X}" for pid in supported_from_bitmap(base, _need(data, 4))]
    return decode


def _enum(table: Mapping[int, str]) -> Decoder:
    def decode(data: bytes) -> str:
        value = _need(data, 1)[0]
        return table.get(value, f"unknown ({value})")
    return decode


_SPARK_MONITORS = ("catalyst", "heated_catalyst", "evaporative_system", "secondary_air_system",
                   "ac_refrigerant", "oxygen_sensor", "oxygen_sensor_heater", "egr_system")
_COMPRESSION_MONITORS = ("nmhc_catalyst", "nox_scr_monitor", None, "boost_pressure",
                         None, "exhaust_gas_sensor", "pm_filter", "egr_vvt_system")


def _monitors(b: int, c: int, d: int) -> dict[str, dict[str, bool]]:
    found = {name: {"available": bool(b & (1 << i)), "complete": not b & (1 << (i + 4))}
             for i, name in enumerate(("misfire", "fuel_system", "components"))}
    names = _COMPRESSION_MONITORS if b & 0x08 else _SPARK_MONITORS
    for i, name in enumerate(names):
        if name is not None:
            found[name] = {"available": bool(c & (1 << i)), "complete": not d & (1 << i)}
    return found


def status(data: bytes) -> dict[str, Any]:
    """PID 01: MIL, number of stored codes, ignition type and readiness monitors."""
    a, b, c, d = _need(data, 4)[:4]
    return {"mil": bool(a & 0x80), "dtc_count": a & 0x7F,
            "ignition_type": "compression" if b & 0x08 else "spark", "monitors": _monitors(b, c, d)}


def status_drive_cycle(data: bytes) -> dict[str, Any]:
    """PID 41: readiness monitors of this drive cycle."""
    _, b, c, d = _need(data, 4)[:4]
    return {"ignition_type": "compression" if b & 0x08 else "spark", "monitors": _monitors(b, c, d)}


_FUEL_SYSTEM = {
    0: "", 1: "Open loop due to insufficient engine temperature",
    2: "Closed loop, using oxygen sensor feedback to determine fuel mix",
    4: "Open loop due to engine load OR fuel cut due to deceleration",
    8: "Open loop due to system failure",
    16: "Closed loop, using at least one oxygen sensor but there is a fault in the feedback system",
}


def fuel_status(data: bytes) -> list[str]:
    """PID 03: the state of fuel system 1 and, when present, fuel system 2."""
    return [_FUEL_SYSTEM.get(v, f"unknown ({v})") for v in _need(data, 2)[:2] if v]


_AIR_STATUS = {1: "Upstream", 2: "Downstream of catalytic converter",
               4: "From the outside atmosphere or off", 8: "Pump commanded on for diagnostics"}

_OBD_COMPLIANCE = {
    1: "OBD-II as defined by the CARB", 2: "OBD as defined by the EPA", 3: "OBD and OBD-II", 4: "OBD-I",
    5: "Not OBD compliant", 6: "EOBD (Europe)", 7: "EOBD and OBD-II", 8: "EOBD and OBD",
    9: "EOBD, OBD and OBD II", 10: "JOBD (Japan)", 11: "JOBD and OBD II", 12: "JOBD and EOBD",
    13: "JOBD, EOBD, and OBD II", 17: "Engine Manufacturer Diagnostics (EMD)",
    18: "Engine Manufacturer Diagnostics Enhanced (EMD+)",
    19: "Heavy Duty On-Board Diagnostics (Child/Partial) (HD OBD-C)",
    20: "Heavy Duty On-Board Diagnostics (HD OBD)", 21: "World Wide Harmonized OBD (WWH OBD)",
    23: "Heavy Duty Euro OBD Stage I without NOx control (HD EOBD-I)",
    24: "Heavy Duty Euro OBD Stage I with NOx control (HD EOBD-I N)",
    25: "Heavy Duty Euro OBD Stage II without NOx control (HD EOBD-II)",
    26: "Heavy Duty Euro OBD Stage II with NOx control (HD EOBD-II N)",
    28: "Brazil OBD Phase 1 (OBDBr-1)", 29: "Brazil OBD Phase 2 (OBDBr-2)", 30: "Korean OBD (KOBD)",
    31: "India OBD I (IOBD I)", 32: "India OBD II (IOBD II)",
    33: "Heavy Duty Euro OBD Stage VI (HD EOBD-IV)",
}

_FUEL_TYPE = {
    0: "Not available", 1: "Gasoline", 2: "Methanol", 3: "Ethanol", 4: "Diesel", 5: "LPG", 6: "CNG",
    7: "Propane", 8: "Electric", 9: "Bifuel running Gasoline", 10: "Bifuel running Methanol",
    11: "Bifuel running Ethanol", 12: "Bifuel running LPG", 13: "Bifuel running CNG",
    14: "Bifuel running Propane", 15: "Bifuel running Electricity",
    16: "Bifuel running electric and combustion engine", 17: "Hybrid gasoline", 18: "Hybrid Ethanol",
    19: "Hybrid Diesel", 20: "Hybrid Electric", 21: "Hybrid running electric and combustion engine",
    22: "Hybrid Regenerative", 23: "Bifuel running diesel",
}


def o2_sensors(data: bytes) -> list[str]:
    """PID 13: sensors present, bank 1 sensors 1-4 in bits 0-3, bank 2 in bits 4-7."""
    a = _need(data, 1)[0]
    return [f"B{1 + i // 4}S{1 + i % 4}" for i in range(8) if a & (1 << i)]


def o2_sensors_alt(data: bytes) -> list[str]:
    """PID 1D: sensors present in four banks of two."""
    a = _need(data, 1)[0]
    return [f"B{1 + i // 2}S{1 + i % 2}" for i in range(8) if a & (1 << i)]


def aux_input_status(data: bytes) -> bool:
    """PID 1E: power take-off active."""
    return bool(_need(data, 1)[0] & 0x01)


def freeze_dtc(data: bytes) -> str | None:
    """PID 02: the code that stored the freeze frame (``None`` when there is none)."""
    a, b = _need(data, 2)[:2]
    return decode_dtc(a, b) if a or b else None


def max_values(data: bytes) -> dict[str, int]:
    """PID 4F: scaling maxima of equivalence ratio, O2 voltage (V), O2 current (mA), MAP (kPa)."""
    a, b, c, d = _need(data, 4)[:4]
    return {"equivalence_ratio": a, "oxygen_sensor_voltage": b, "oxygen_sensor_current": c,
            "intake_pressure": d * 10}


@dataclass(frozen=True)
class Command:
    """A named request: ``mode`` and ``pid`` to send, how to decode the answer, and its unit."""

    name: str
    mode: int
    pid: int
    decoder: Decoder
    unit: str | None
    description: str

    @property
    def pid_bytes(self) -> bytes:
        return bytes([self.pid]) if self.pid < 0x100 else self.pid.to_bytes(2, "big")


_NARROW_O2 = [Command(f"O2_B{1 + i // 4}S{1 + i % 4}", 1, 0x14 + i, Linear(1, 1, 200), VOLT,
                      f"O2 sensor voltage, bank {1 + i // 4} sensor {1 + i % 4}") for i in range(8)]

COMMANDS: tuple[Command, ...] = (
    Command("PIDS_A", 1, 0x00, _bitmap(0x00), None, "Supported PIDs [01-20]"),
    Command("STATUS", 1, 0x01, status, None, "Status since DTCs cleared"),
    Command("FREEZE_DTC", 1, 0x02, freeze_dtc, None, "DTC that triggered the freeze frame"),
    Command("FUEL_STATUS", 1, 0x03, fuel_status, None, "Fuel system status"),
    Command("ENGINE_LOAD", 1, 0x04, percent, PERCENT, "Calculated engine load"),
    Command("COOLANT_TEMP", 1, 0x05, temp, CELSIUS, "Engine coolant temperature"),
    Command("SHORT_FUEL_TRIM_1", 1, 0x06, percent_centered, PERCENT, "Short term fuel trim, bank 1"),
    Command("LONG_FUEL_TRIM_1", 1, 0x07, percent_centered, PERCENT, "Long term fuel trim, bank 1"),
    Command("SHORT_FUEL_TRIM_2", 1, 0x08, percent_centered, PERCENT, "Short term fuel trim, bank 2"),
    Command("LONG_FUEL_TRIM_2", 1, 0x09, percent_centered, PERCENT, "Long term fuel trim, bank 2"),
    Command("FUEL_PRESSURE", 1, 0x0A, Linear(1, 3), KPA, "Fuel pressure (gauge)"),
    Command("INTAKE_PRESSURE", 1, 0x0B, uint8, KPA, "Intake manifold absolute pressure"),
    Command("RPM", 1, 0x0C, Linear(2, 1, 4), RPM, "Engine speed"),
    Command("SPEED", 1, 0x0D, uint8, KPH, "Vehicle speed"),
    Command("TIMING_ADVANCE", 1, 0x0E, Linear(1, 1, 2, -64), DEGREE, "Timing advance before TDC"),
    Command("INTAKE_TEMP", 1, 0x0F, temp, CELSIUS, "Intake air temperature"),
    Command("MAF", 1, 0x10, Linear(2, 1, 100), GPS, "Mass air flow rate"),
    Command("THROTTLE_POS", 1, 0x11, percent, PERCENT, "Throttle position"),
    Command("AIR_STATUS", 1, 0x12, _enum(_AIR_STATUS), None, "Commanded secondary air status"),
    Command("O2_SENSORS", 1, 0x13, o2_sensors, None, "O2 sensors present (two banks)"),
    *_NARROW_O2,
    Command("OBD_COMPLIANCE", 1, 0x1C, _enum(_OBD_COMPLIANCE), None, "OBD standards the vehicle conforms to"),
    Command("O2_SENSORS_ALT", 1, 0x1D, o2_sensors_alt, None, "O2 sensors present (four banks)"),
    Command("AUX_INPUT_STATUS", 1, 0x1E, aux_input_status, None, "Power take-off active"),
    Command("RUN_TIME", 1, 0x1F, uint16, SECOND, "Run time since engine start"),
    Command("PIDS_B", 1, 0x20, _bitmap(0x20), None, "Supported PIDs [21-40]"),
    Command("DISTANCE_W_MIL", 1, 0x21, uint16, KM, "Distance traveled with MIL on"),
    Command("FUEL_RAIL_PRESSURE_VAC", 1, 0x22, Linear(2, 0.079), KPA,
            "Fuel rail pressure relative to manifold vacuum"),
    Command("FUEL_RAIL_PRESSURE_DIRECT", 1, 0x23, Linear(2, 10), KPA, "Fuel rail gauge pressure (diesel or GDI)"),
    *[Command(f"O2_S{n}_WR_VOLTAGE", 1, 0x23 + n, Linear(2, 8, 65536, start=2), VOLT,
              f"Wide range O2 sensor {n} voltage") for n in range(1, 9)],
    Command("COMMANDED_EGR", 1, 0x2C, percent, PERCENT, "Commanded EGR"),
    Command("EGR_ERROR", 1, 0x2D, percent_centered, PERCENT, "EGR error"),
    Command("EVAPORATIVE_PURGE", 1, 0x2E, percent, PERCENT, "Commanded evaporative purge"),
    Command("FUEL_LEVEL", 1, 0x2F, percent, PERCENT, "Fuel tank level input"),
    Command("WARMUPS_SINCE_DTC_CLEAR", 1, 0x30, uint8, COUNT, "Warm-ups since codes cleared"),
    Command("DISTANCE_SINCE_DTC_CLEAR", 1, 0x31, uint16, KM, "Distance traveled since codes cleared"),
    Command("EVAP_VAPOR_PRESSURE", 1, 0x32, Linear(2, 1, 4, signed=True), PASCAL, "Evap system vapor pressure"),
    Command("BAROMETRIC_PRESSURE", 1, 0x33, uint8, KPA, "Absolute barometric pressure"),
    *[Command(f"O2_S{n}_WR_CURRENT", 1, 0x33 + n, Linear(2, 1, 256, -128, start=2), MA,
              f"Wide range O2 sensor {n} current") for n in range(1, 9)],
    Command("CATALYST_TEMP_B1S1", 1, 0x3C, Linear(2, 1, 10, -40), CELSIUS, "Catalyst temperature, bank 1 sensor 1"),
    Command("CATALYST_TEMP_B2S1", 1, 0x3D, Linear(2, 1, 10, -40), CELSIUS, "Catalyst temperature, bank 2 sensor 1"),
    Command("CATALYST_TEMP_B1S2", 1, 0x3E, Linear(2, 1, 10, -40), CELSIUS, "Catalyst temperature, bank 1 sensor 2"),
    Command("CATALYST_TEMP_B2S2", 1, 0x3F, Linear(2, 1, 10, -40), CELSIUS, "Catalyst temperature, bank 2 sensor 2"),
    Command("PIDS_C", 1, 0x40, _bitmap(0x40), None, "Supported PIDs [41-60]"),
    Command("STATUS_DRIVE_CYCLE", 1, 0x41, status_drive_cycle, None, "Monitor status this drive cycle"),
    Command("CONTROL_MODULE_VOLTAGE", 1, 0x42, voltage, VOLT, "Control module voltage"),
    Command("ABSOLUTE_LOAD", 1, 0x43, Linear(2, 100, 255), PERCENT, "Absolute load value"),
    Command("COMMANDED_EQUIV_RATIO", 1, 0x44, Linear(2, 2, 65536), RATIO, "Commanded air-fuel equivalence ratio"),
    Command("RELATIVE_THROTTLE_POS", 1, 0x45, percent, PERCENT, "Relative throttle position"),
    Command("AMBIENT_AIR_TEMP", 1, 0x46, temp, CELSIUS, "Ambient air temperature"),
    Command("THROTTLE_POS_B", 1, 0x47, percent, PERCENT, "Absolute throttle position B"),
    Command("THROTTLE_POS_C", 1, 0x48, percent, PERCENT, "Absolute throttle position C"),
    Command("ACCELERATOR_POS_D", 1, 0x49, percent, PERCENT, "Accelerator pedal position D"),
    Command("ACCELERATOR_POS_E", 1, 0x4A, percent, PERCENT, "Accelerator pedal position E"),
    Command("ACCELERATOR_POS_F", 1, 0x4B, percent, PERCENT, "Accelerator pedal position F"),
    Command("THROTTLE_ACTUATOR", 1, 0x4C, percent, PERCENT, "Commanded throttle actuator"),
    Command("RUN_TIME_MIL", 1, 0x4D, uint16, MINUTE, "Time run with MIL on"),
    Command("TIME_SINCE_DTC_CLEARED", 1, 0x4E, uint16, MINUTE, "Time since trouble codes cleared"),
    Command("MAX_VALUES", 1, 0x4F, max_values, None, "Maximum values for equivalence ratio, O2 sensor and MAP"),
    Command("MAX_MAF", 1, 0x50, Linear(1, 10), GPS, "Maximum value for mass air flow rate"),
    Command("FUEL_TYPE", 1, 0x51, _enum(_FUEL_TYPE), None, "Fuel type"),
    Command("ETHANOL_PERCENT", 1, 0x52, percent, PERCENT, "Ethanol fuel percentage"),
    Command("EVAP_VAPOR_PRESSURE_ABS", 1, 0x53, Linear(2, 1, 200), KPA, "Absolute evap system vapor pressure"),
    Command("EVAP_VAPOR_PRESSURE_ALT", 1, 0x54, int16, PASCAL, "Evap system vapor pressure"),
    Command("SHORT_O2_TRIM_B1", 1, 0x55, percent_centered, PERCENT, "Short term secondary O2 trim, bank 1"),
    Command("LONG_O2_TRIM_B1", 1, 0x56, percent_centered, PERCENT, "Long term secondary O2 trim, bank 1"),
    Command("SHORT_O2_TRIM_B2", 1, 0x57, percent_centered, PERCENT, "Short term secondary O2 trim, bank 2"),
    Command("LONG_O2_TRIM_B2", 1, 0x58, percent_centered, PERCENT, "Long term secondary O2 trim, bank 2"),
    Command("FUEL_RAIL_PRESSURE_ABS", 1, 0x59, Linear(2, 10), KPA, "Fuel rail absolute pressure"),
    Command("RELATIVE_ACCEL_POS", 1, 0x5A, percent, PERCENT, "Relative accelerator pedal position"),
    Command("HYBRID_BATTERY_REMAINING", 1, 0x5B, percent, PERCENT, "Hybrid battery pack remaining life"),
    Command("OIL_TEMP", 1, 0x5C, temp, CELSIUS, "Engine oil temperature"),
    Command("FUEL_INJECT_TIMING", 1, 0x5D, Linear(2, 1, 128, -210), DEGREE, "Fuel injection timing"),
    Command("FUEL_RATE", 1, 0x5E, Linear(2, 1, 20), LPH, "Engine fuel rate"),
    Command("EMISSION_REQ", 1, 0x5F, uint8, None, "Emission requirements the vehicle is designed to"),
    Command("PIDS_D", 1, 0x60, _bitmap(0x60), None, "Supported PIDs [61-80]"),
    Command("DRIVER_DEMAND_TORQUE", 1, 0x61, Linear(1, offset=-125), PERCENT, "Driver's demand engine torque"),
    Command("ACTUAL_TORQUE", 1, 0x62, Linear(1, offset=-125), PERCENT, "Actual engine torque"),
    Command("REFERENCE_TORQUE", 1, 0x63, uint16, NM, "Engine reference torque"),
    Command("PIDS_E", 1, 0x80, _bitmap(0x80), None, "Supported PIDs [81-A0]"),
    Command("ENGINE_FRICTION_TORQUE", 1, 0x8E, Linear(1, offset=-125), PERCENT, "Engine friction torque"),
    Command("PIDS_F", 1, 0xA0, _bitmap(0xA0), None, "Supported PIDs [A1-C0]"),
    Command("ODOMETER", 1, 0xA6, Linear(4, 1, 10), KM, "Odometer"),
    Command("PIDS_G", 1, 0xC0, _bitmap(0xC0), None, "Supported PIDs [C1-E0]"),
)

PIDS: dict[str, Command] = {c.name: c for c in COMMANDS}
BY_PID: dict[int, Command] = {c.pid: c for c in COMMANDS}

#: Older names kept so that AutoPi-style requests keep working.
_ALIASES = {"AMBIANT_AIR_TEMP": "AMBIENT_AIR_TEMP"}

#: Decoders a custom query may name with ``decoder=``.
DECODERS: dict[str, Decoder] = {
    "raw_string": raw_string, "ascii": ascii_text, "dtc": dtc_list,
    "uint8": uint8, "uint16": uint16, "uint24": uint24, "uint32": uint32,
    "int8": int8, "int16": int16, "int32": int32, "count": uint8,
    "percent": percent, "percent_centered": percent_centered, "temp": temp, "voltage": voltage,
}

#: The unit a named decoder implies when the query gives none.
DECODER_UNITS: dict[str, str] = {"percent": PERCENT, "percent_centered": PERCENT, "temp": CELSIUS,
                                 "voltage": VOLT, "count": COUNT}


def lookup(name: str) -> Command | None:
    """The mode 01 command called ``name`` (any case), or ``None``."""
    key = name.strip().upper()
    return PIDS.get(_ALIASES.get(key, key))
