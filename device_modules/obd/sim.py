"""A simulated car behind a simulated adapter: the ``sim`` backend.

One engine ECU (``7E0`` / ``7E8``, ISO 15765-4 CAN 11/500) answers modes 01,
03, 04 and 09 with bytes encoded exactly as a car would send them, so every
answer goes through the same decoding as a real one. Values follow a gentle
drive cycle over time: the engine warms up, speed swings between town and
road, RPM follows speed, the tank slowly empties.

Test verbs::

    sim.set_value("RPM", 900)          # pin a value (engineering units); None unpins
    sim.set_value("VIN", "WP0ZZZ99ZTS390000")
    sim.set_value("BATTERY", 11.9)     # what the adapter measures (ATRV)
    sim.set_dtcs(["P0104", "U0123"])
    sim.stop_engine(); sim.start_engine()
    sim.disconnect(); sim.reconnect()  # the adapter vanishes / comes back

``clock`` and ``rng`` are injected, so a test can step time and get the same
noise every run.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterable

from device_modules.errors import DeviceIOError
from device_modules.obd.backend import PROTOCOLS, ProtocolInfo
from device_modules.obd.decode import Frame, Message, segment
from device_modules.obd.dtc import encode_dtc
from device_modules.obd.errors import AdapterError, NoData
from device_modules.obd.pids import PIDS, Linear

__all__ = ["Simulator"]

REQUEST, RESPONSE, FUNCTIONAL = "7E0", "7E8", "7DF"

#: Simulated PIDs and their encoders; supported-PID bitmaps are computed from these.
_SIGNALS = ("ENGINE_LOAD", "COOLANT_TEMP", "SHORT_FUEL_TRIM_1", "LONG_FUEL_TRIM_1", "INTAKE_PRESSURE", "RPM",
            "SPEED", "TIMING_ADVANCE", "INTAKE_TEMP", "MAF", "THROTTLE_POS", "RUN_TIME", "DISTANCE_W_MIL",
            "FUEL_LEVEL", "DISTANCE_SINCE_DTC_CLEAR", "BAROMETRIC_PRESSURE", "CONTROL_MODULE_VOLTAGE",
            "AMBIENT_AIR_TEMP", "OIL_TEMP", "FUEL_RATE")
_ENUMS = {"STATUS": 0x01, "OBD_COMPLIANCE": 0x1C, "FUEL_TYPE": 0x51}
_BITMAP_BASES = (0x00, 0x20, 0x40)


class Simulator:
    """The simulated adapter and engine ECU; see the module docstring."""

    name = "sim"

    def __init__(self, clock: Callable[[], float] = time.monotonic, rng: random.Random | None = None,
                 vin: str = "1EDGEF1EET0000001", dtcs: Iterable[str] = ()) -> None:
        self._clock = clock
        self._rng = rng or random.Random(0)
        self._start = clock()
        self._pinned: dict[str, float] = {}
        self._vin = vin
        self._dtcs: list[str] = []
        self.set_dtcs(dtcs)
        self._running = True
        self._connected = True
        self._closed = False
        self._queried = False
        self._protocol = "6"

    # ---- test verbs ------------------------------------------------------------------------

    def set_value(self, name: str, value: float | str | None) -> None:
        """Pin ``name`` (a simulated PID, ``VIN`` or ``BATTERY``) to ``value``; ``None`` unpins."""
        key = name.upper()
        if key == "VIN":
            if not isinstance(value, str) or len(value) != 17:
                raise ValueError(f"a VIN has 17 characters, got {value!r}")
            self._vin = value
        elif key not in _SIGNALS and key != "BATTERY":
            raise ValueError(f"the simulator has no value {name!r}; it has {', '.join(_SIGNALS)}, VIN, BATTERY")
        elif value is None:
            self._pinned.pop(key, None)
        else:
            self._pinned[key] = float(value)

    def set_dtcs(self, codes: Iterable[str]) -> None:
        """Store these trouble codes (``["P0104", "U0123"]``); the MIL lights when any are stored."""
        codes = list(codes)
        for code in codes:
            encode_dtc(code)  # refuse a malformed code now rather than at query time
        self._dtcs = [code.upper() for code in codes]

    def stop_engine(self) -> None:
        self._running = False

    def start_engine(self) -> None:
        self._running = True

    def disconnect(self) -> None:
        """The adapter disappears: every call fails as a broken port would."""
        self._connected = False

    def reconnect(self) -> None:
        self._connected = True

    # ---- the ObdBackend protocol ----------------------------------------------------------

    def query(self, mode: int, pid: bytes, header: str | None = None) -> list[Message]:
        self._check()
        if header is not None and header.upper() not in (REQUEST, FUNCTIONAL):
            raise NoData(f"NO DATA: no simulated ECU answers header {header}")
        request = bytes([mode]) + pid
        payload = self._answer(mode, pid)
        if payload is None:
            raise NoData(f"NO DATA: the simulated car does not answer {request.hex().upper()}")
        self._queried = True
        frames = tuple(Frame(RESPONSE, data) for data in segment(payload))
        return [Message(RESPONSE, payload, frames)]

    def send(self, data: bytes, header: str | None = None) -> list[str]:
        if not data:
            raise AdapterError("nothing to send")
        return [frame.text for message in self.query(data[0], data[1:], header) for frame in message.frames]

    def voltage(self) -> float:
        self._check()
        return round(self._value("BATTERY"), 1)

    def protocol(self) -> ProtocolInfo:
        self._check()
        return ProtocolInfo(self._protocol, PROTOCOLS[self._protocol])

    def set_protocol(self, number: str) -> ProtocolInfo:
        self._check()
        if number not in ("0", "6"):
            raise AdapterError(f"UNABLE TO CONNECT: the simulated car does not speak {PROTOCOLS.get(number, number)}")
        return ProtocolInfo("6", PROTOCOLS["6"], number == "0")

    def status(self) -> str:
        if not self._connected or self._closed:
            return "Not Connected"
        return "Car Connected" if self._queried else "ELM Connected"

    def close(self) -> None:
        self._closed = True

    # ---- the car ---------------------------------------------------------------------------

    def _check(self) -> None:
        if self._closed:
            raise DeviceIOError("the simulated OBD adapter is closed")
        if not self._connected:
            raise DeviceIOError("the simulated OBD adapter is disconnected")

    def _answer(self, mode: int, pid: bytes) -> bytes | None:
        if mode == 0x01 and len(pid) == 1:
            data = self._mode01(pid[0])
            return None if data is None else bytes([0x41, pid[0]]) + data
        if mode == 0x03 and not pid:
            return bytes([0x43, len(self._dtcs)]) + b"".join(encode_dtc(c) for c in self._dtcs)
        if mode == 0x04 and not pid:
            self._dtcs = []
            return b"\x44"
        if mode == 0x09 and pid == b"\x00":
            return bytes([0x49, 0x00, 0x40, 0x00, 0x00, 0x00])  # PID 02 (VIN) only
        if mode == 0x09 and pid == b"\x02":
            return b"\x49\x02\x01" + self._vin.encode("ascii")
        if mode in (0x01, 0x09):
            return None
        return bytes([0x7F, mode, 0x11])  # serviceNotSupported

    def _mode01(self, pid: int) -> bytes | None:
        if pid in _BITMAP_BASES:
            supported = {PIDS[name].pid for name in _SIGNALS} | set(_ENUMS.values())
            supported |= {base for base in _BITMAP_BASES if base}
            bits = sum(1 << (32 - (p - pid)) for p in supported if pid < p <= pid + 32)
            return bits.to_bytes(4, "big")
        if pid == _ENUMS["STATUS"]:  # MIL and code count; spark ignition, common monitors complete
            return bytes([(0x80 | len(self._dtcs)) if self._dtcs else 0, 0x07, 0x65, 0x00])
        if pid == _ENUMS["OBD_COMPLIANCE"]:
            return b"\x06"  # EOBD
        if pid == _ENUMS["FUEL_TYPE"]:
            return b"\x01"  # gasoline
        for name in _SIGNALS:
            command = PIDS[name]
            if command.pid == pid and isinstance(command.decoder, Linear):
                return command.decoder.encode(self._value(name))
        return None

    def _value(self, name: str) -> float:
        if name in self._pinned:
            return self._pinned[name]
        t = max(0.0, self._clock() - self._start)
        noise = self._rng.uniform(-1.0, 1.0)
        ambient = 18.0
        warm = 1.0 - math.exp(-t / 300.0)  # the engine warms up over a few minutes
        on = self._running
        speed = max(0.0, 55.0 + 45.0 * math.sin(2 * math.pi * t / 420.0) + noise) if on else 0.0
        rpm = (800.0 + speed * 32.0 + 20.0 * noise) if on else 0.0
        load = (18.0 + speed * 0.45 + noise) if on else 0.0
        values = {
            "SPEED": speed, "RPM": rpm, "ENGINE_LOAD": load,
            "COOLANT_TEMP": ambient + (90.0 - ambient) * warm if on else ambient + 40.0 * warm,
            "OIL_TEMP": ambient + (95.0 - ambient) * warm if on else ambient + 42.0 * warm,
            "THROTTLE_POS": (14.0 + speed * 0.35 + noise) if on else 0.0,
            "INTAKE_PRESSURE": (30.0 + load * 0.7) if on else 101.0,
            "INTAKE_TEMP": ambient + 8.0 * warm, "AMBIENT_AIR_TEMP": ambient, "BAROMETRIC_PRESSURE": 101.0,
            "MAF": rpm * load / 3000.0, "FUEL_RATE": rpm * load / 20000.0,
            "TIMING_ADVANCE": (8.0 + rpm / 400.0) if on else 0.0,
            "SHORT_FUEL_TRIM_1": 1.5 * noise, "LONG_FUEL_TRIM_1": 2.3,
            "FUEL_LEVEL": max(0.0, 72.0 - t / 600.0), "RUN_TIME": t if on else 0.0,
            "DISTANCE_W_MIL": 0.0, "DISTANCE_SINCE_DTC_CLEAR": 1234.0 + t * speed / 3600.0,
        }
        battery = self._pinned.get("BATTERY", 14.1 if on else 12.6)
        values["BATTERY"] = battery
        values["CONTROL_MODULE_VOLTAGE"] = battery - 0.2
        return values[name]
