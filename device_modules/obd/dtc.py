"""Diagnostic trouble codes (SAE J2012): two bytes to ``P0104`` and back, with a description.

A code's two bytes ``AB CD`` read as: the top two bits of ``A`` pick the
system (``P`` powertrain, ``C`` chassis, ``B`` body, ``U`` network), the next
two bits are the first digit, and the remaining three nibbles the rest.
"""

from __future__ import annotations

__all__ = ["decode_dtc", "describe", "encode_dtc", "parse_dtcs"]

_SYSTEMS = "PCBU"
_SYSTEM_NAMES = {"P": "Powertrain", "C": "Chassis", "B": "Body", "U": "Network"}

#: Third character of a P0/P2 code: the subsystem.
_POWERTRAIN_AREAS = {
    "0": "fuel and air metering and auxiliary emission controls",
    "1": "fuel and air metering",
    "2": "fuel and air metering (injector circuit)",
    "3": "ignition system or misfire",
    "4": "auxiliary emission controls",
    "5": "vehicle speed, idle control and auxiliary inputs",
    "6": "computer and auxiliary outputs",
    "7": "transmission",
    "8": "transmission",
    "9": "transmission",
    "A": "hybrid propulsion",
    "B": "hybrid propulsion",
    "C": "hybrid propulsion",
}

_B1S1 = "(Bank 1 Sensor 1)"

#: Descriptions of frequent SAE generic codes; others get a description from the code's structure.
_KNOWN: dict[str, str] = {
    "P0100": "Mass or Volume Air Flow Circuit Malfunction",
    "P0101": "Mass or Volume Air Flow Circuit Range/Performance Problem",
    "P0102": "Mass or Volume Air Flow Circuit Low Input",
    "P0103": "Mass or Volume Air Flow Circuit High Input",
    "P0104": "Mass or Volume Air Flow Circuit Intermittent",
    "P0105": "Manifold Absolute Pressure/Barometric Pressure Circuit Malfunction",
    "P0106": "Manifold Absolute Pressure/Barometric Pressure Circuit Range/Performance Problem",
    "P0107": "Manifold Absolute Pressure/Barometric Pressure Circuit Low Input",
    "P0108": "Manifold Absolute Pressure/Barometric Pressure Circuit High Input",
    "P0110": "Intake Air Temperature Circuit Malfunction",
    "P0115": "Engine Coolant Temperature Circuit Malfunction",
    "P0117": "Engine Coolant Temperature Circuit Low Input",
    "P0118": "Engine Coolant Temperature Circuit High Input",
    "P0120": "Throttle Position Sensor/Switch A Circuit Malfunction",
    "P0121": "Throttle Position Sensor/Switch A Circuit Range/Performance Problem",
    "P0125": "Insufficient Coolant Temperature for Closed Loop Fuel Control",
    "P0128": "Coolant Thermostat (Coolant Temperature Below Thermostat Regulating Temperature)",
    "P0130": f"O2 Sensor Circuit Malfunction {_B1S1}",
    "P0131": f"O2 Sensor Circuit Low Voltage {_B1S1}",
    "P0132": f"O2 Sensor Circuit High Voltage {_B1S1}",
    "P0133": f"O2 Sensor Circuit Slow Response {_B1S1}",
    "P0134": f"O2 Sensor Circuit No Activity Detected {_B1S1}",
    "P0135": f"O2 Sensor Heater Circuit Malfunction {_B1S1}",
    "P0141": "O2 Sensor Heater Circuit Malfunction (Bank 1 Sensor 2)",
    "P0143": "O2 Sensor Circuit Low Voltage (Bank 1 Sensor 3)",
    "P0171": "System Too Lean (Bank 1)",
    "P0172": "System Too Rich (Bank 1)",
    "P0174": "System Too Lean (Bank 2)",
    "P0175": "System Too Rich (Bank 2)",
    "P0196": "Engine Oil Temperature Sensor Range/Performance",
    "P0200": "Injector Circuit Malfunction",
    "P0234": "Turbo/Super Charger Overboost Condition",
    "P0300": "Random/Multiple Cylinder Misfire Detected",
    **{f"P030{n}": f"Cylinder {n} Misfire Detected" for n in range(1, 9)},
    "P0325": "Knock Sensor 1 Circuit Malfunction (Bank 1 or Single Sensor)",
    "P0335": "Crankshaft Position Sensor A Circuit Malfunction",
    "P0340": "Camshaft Position Sensor Circuit Malfunction",
    "P0400": "Exhaust Gas Recirculation Flow Malfunction",
    "P0401": "Exhaust Gas Recirculation Flow Insufficient Detected",
    "P0402": "Exhaust Gas Recirculation Flow Excessive Detected",
    "P0420": "Catalyst System Efficiency Below Threshold (Bank 1)",
    "P0430": "Catalyst System Efficiency Below Threshold (Bank 2)",
    "P0440": "Evaporative Emission Control System Malfunction",
    "P0441": "Evaporative Emission Control System Incorrect Purge Flow",
    "P0442": "Evaporative Emission Control System Leak Detected (small leak)",
    "P0446": "Evaporative Emission Control System Vent Control Circuit Malfunction",
    "P0455": "Evaporative Emission Control System Leak Detected (gross leak)",
    "P0456": "Evaporative Emission Control System Leak Detected (very small leak)",
    "P0500": "Vehicle Speed Sensor Malfunction",
    "P0505": "Idle Control System Malfunction",
    "P0506": "Idle Control System RPM Lower Than Expected",
    "P0507": "Idle Control System RPM Higher Than Expected",
    "P0562": "System Voltage Low",
    "P0563": "System Voltage High",
    "P0600": "Serial Communication Link Malfunction",
    "P0700": "Transmission Control System Malfunction",
    "U0100": "Lost Communication With ECM/PCM A",
    "U0101": "Lost Communication With TCM",
    "U0121": "Lost Communication With Anti-Lock Brake System (ABS) Control Module",
    "U0140": "Lost Communication With Body Control Module",
    "U0155": "Lost Communication With Instrument Panel Cluster (IPC) Control Module",
}


def decode_dtc(first: int, second: int) -> str:
    """The code of two DTC bytes: ``decode_dtc(0x01, 0x04) == "P0104"``."""
    return f"{_SYSTEMS[first >> 6]}{(first >> 4) & 0x3}{first & 0x0F:X}{second:02X}"


def encode_dtc(code: str) -> bytes:
    """The two bytes of a code: ``encode_dtc("U0123") == b"\\xc1\\x23"``.

    Raises:
        ValueError: not a five-character code such as ``P0104``.
    """
    text = code.strip().upper()
    if len(text) != 5 or text[0] not in _SYSTEMS or text[1] not in "0123":
        raise ValueError(f"not a trouble code: {code!r}")
    try:
        rest = int(text[2:], 16)
    except ValueError:
        raise ValueError(f"not a trouble code: {code!r}") from None
    first = (_SYSTEMS.index(text[0]) << 6) | (int(text[1]) << 4) | (rest >> 8)
    return bytes([first, rest & 0xFF])


def parse_dtcs(data: bytes) -> list[str]:
    """Codes in a mode 03/07/0A answer (``data`` after the service byte), padding dropped.

    On CAN the first byte counts the codes, so the data has an odd length;
    J1850 / ISO 9141 / KWP answers (and some emulators) send pairs only.
    ``0000`` pairs are padding. Repeated codes are listed once.
    """
    if len(data) % 2:
        data = data[1:]
    codes: list[str] = []
    for i in range(0, len(data) - 1, 2):
        if data[i] or data[i + 1]:
            code = decode_dtc(data[i], data[i + 1])
            if code not in codes:
                codes.append(code)
    return codes


def describe(code: str) -> str:
    """A description: the SAE text for frequent generic codes, else what the code's digits say."""
    code = code.upper()
    if code in _KNOWN:
        return _KNOWN[code]
    system = _SYSTEM_NAMES.get(code[:1], "Unknown system")
    generic = ("0", "2") if code[:1] == "P" else ("0", "3")
    owner = "SAE generic" if code[1:2] in generic else "manufacturer-specific"
    if code[:1] == "P":
        area = _POWERTRAIN_AREAS.get(code[2:3], "reserved area")
        return f"{system} code, {owner}: {area}"
    return f"{system} code, {owner}"
