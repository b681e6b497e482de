"""``obd.*``: read a vehicle's OBD-II data through an ELM327/STN adapter, a CAN bus or a simulated car.

Results follow AutoPi's shape: ``{"_type": "rpm", "value": 1726.0, "unit":
"revolutions_per_minute", "_stamp": "2026-11-23T12:00:00.123456"}`` (``_stamp``
is naive UTC ISO 8601, as Salt writes it). Which backend runs is set by the
``obd:`` config section (see :mod:`device_modules.obd.settings`);
``available()`` says which one and why.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from device_modules.context import DeviceContext
from device_modules.errors import ConfirmationRequired, InvalidArguments
from device_modules.obd.backend import PROTOCOLS, ObdBackend
from device_modules.obd.decode import answer, answers, decode_vin
from device_modules.obd.dtc import describe, parse_dtcs  # not lazily: a late import would rebind dtc below
from device_modules.obd.errors import AdapterError, NoData, UnsupportedCommand
from device_modules.obd.session import RESOURCE, session
from device_modules.obd.settings import choose, missing_driver, settings_from
from device_modules.spec import Availability, ModuleSpec

if TYPE_CHECKING:
    from device_modules.obd import pids

__all__ = ["MODULE", "available"]


def _stamp() -> str:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None).isoformat()


def _number(what: str, value: str | int, limit: int) -> int:
    """A hex argument; an int counts as the hex digits it was typed with (Salt's CLI makes ``22`` a number)."""
    text = (value if isinstance(value, str) else str(value)).strip().upper().removeprefix("0X")
    try:
        number = int(text, 16)
    except ValueError:
        raise InvalidArguments(f"{what} must be hex (like 0C), not {value!r}") from None
    if isinstance(value, bool) or not 0 <= number < limit:
        raise InvalidArguments(f"{what} {value!r} is out of range")
    return number


def _pid_bytes(pid: str | int, mode: int) -> bytes:
    """The PID as sent: as many bytes as its hex digits need; mode 22 identifiers are two bytes at least."""
    number = _number("pid", pid, 1 << 24)
    digits = len(pid.strip().upper().removeprefix("0X")) if isinstance(pid, str) else 0
    width = max((digits + 1) // 2, 2 if mode == 0x22 else 1, (number.bit_length() + 7) // 8)
    return number.to_bytes(width, "big")


def _named_decoder(name: str) -> pids.Decoder:
    from device_modules.obd import pids

    if name not in pids.DECODERS:
        raise InvalidArguments(f"unknown decoder {name!r}; known: {', '.join(sorted(pids.DECODERS))}")
    return pids.DECODERS[name]


def _decode(name: str, decoder: pids.Decoder, data: bytes) -> Any:
    try:
        return decoder(data)
    except (ValueError, IndexError) as exc:
        raise AdapterError(f"cannot decode the answer to {name}: {exc}") from exc


def query(ctx: DeviceContext, name: str, mode: str | int | None = None, pid: str | int | None = None,
          header: str | None = None, decoder: str | None = None, unit: str | None = None,
          force: bool = False) -> dict[str, Any]:
    """Read one value from the vehicle, by its name in the SAE J1979 table or as a custom request.

    ``name`` is a mode 01 PID name (``RPM``, ``SPEED``, ``COOLANT_TEMP``,
    ``FUEL_LEVEL``...; ``ELM_VOLTAGE`` reads the adapter's voltage). With
    ``pid`` (and ``mode``, default ``01``) ``name`` is only the label of a
    custom request, decoded by the named ``decoder``
    (``raw_string`` by default; also ``uint8``, ``uint16``, ``uint32``,
    ``int16``, ``percent``, ``percent_centered``, ``temp``, ``voltage``,
    ``ascii``, ``dtc``). ``header`` sends to one ECU (``7E0``) instead of all.
    A mode 01 PID the vehicle does not list as supported is refused unless
    ``force=True``. ``mode`` and ``pid`` are hex; an int is read as the hex
    digits it was typed with, as AutoPi does (a stock Salt CLI sends
    ``mode=22`` as the number 22, meaning service ``0x22``).

    Returns ``{"_type": <name lower-cased>, "value": ..., "unit": ..., "_stamp": ...}``.

    Raises:
        InvalidArguments: unknown name or decoder, or a bad mode/pid/header.
        UnsupportedCommand: the vehicle does not list the PID (use force=True).
        DeviceIOError: NO DATA, an ECU's refusal, an adapter error or a broken port.
        DeviceTimeout: the adapter does not answer.

    CLI Example::

        fleet 'car-*' obd.query RPM
        fleet 'car-*' obd.query SPEED header=7E0
        fleet 'ev-*' obd.query soc mode=22 pid=0105 header=7E4 decoder=percent
    """
    # The PID and trouble-code tables load on the first query: ~0.6 MiB an idle minion (and a
    # device with no car) does not need; available() runs at start and does not use them.
    from device_modules.obd import pids

    command = pids.lookup(name)
    if pid is None and mode is None and name.strip().upper() == "ELM_VOLTAGE":
        with session(ctx) as current:
            value: Any = current.backend.voltage()
        return {"_type": name.lower(), "value": value, "unit": pids.VOLT, "_stamp": _stamp()}
    if pid is not None or mode is not None:
        mode_number = _number("mode", mode if mode is not None else 1, 0x100)
        pid_data = _pid_bytes(pid, mode_number) if pid is not None else b""
        chosen = _named_decoder(decoder or "raw_string")
        unit = unit or pids.DECODER_UNITS.get(decoder or "raw_string")
    elif command is not None:
        mode_number, pid_data, unit = command.mode, command.pid_bytes, unit or command.unit
        chosen = _named_decoder(decoder) if decoder else command.decoder
    else:
        raise InvalidArguments(f"unknown OBD command {name!r}; give mode= and pid= for a custom request "
                               "(obd.commands lists what the vehicle supports)")
    with session(ctx) as current:
        data = current.read(mode_number, pid_data, header, force)
    return {"_type": name.lower(), "value": _decode(name, chosen, data), "unit": unit, "_stamp": _stamp()}


def query_many(ctx: DeviceContext, *names: str) -> dict[str, dict[str, Any]]:
    """Read several named values in one go; each result is keyed by its lower-cased name.

    A value the vehicle cannot give (NO DATA, unsupported, refused) gets an
    ``error`` entry instead of failing the others; unknown names are refused
    before anything is sent.

    CLI Example::

        fleet 'car-*' obd.query_many RPM SPEED COOLANT_TEMP
    """
    from device_modules.obd import pids

    unknown = [n for n in names if pids.lookup(n) is None and n.strip().upper() != "ELM_VOLTAGE"]
    if unknown:
        raise InvalidArguments(f"unknown OBD command(s): {', '.join(unknown)}")
    results: dict[str, dict[str, Any]] = {}
    with ctx.resources.lock(RESOURCE):  # one block of requests, not interleaved with other jobs
        for name in names:
            try:
                results[name.lower()] = query(ctx, name)
            except (AdapterError, UnsupportedCommand) as exc:
                results[name.lower()] = {"_type": name.lower(), "error": str(exc), "_stamp": _stamp()}
    return results


def commands(ctx: DeviceContext) -> dict[str, Any]:
    """The protocol in use and the names of the mode 01 PIDs the vehicle supports.

    A supported PID without a name in the table is listed as ``01XX``.

    CLI Example::

        fleet 'car-*' obd.commands
    """
    from device_modules.obd import pids

    with session(ctx) as current:
        supported = sorted(current.supported())
        protocol_name = current.backend.protocol().name
    names = [pids.BY_PID[p].name if p in pids.BY_PID else f"01{p:02X}" for p in supported]
    return {"protocol": protocol_name, "supported": names}


def status(ctx: DeviceContext) -> dict[str, Any]:
    """How far the connection reaches: ``Not Connected``, ``ELM Connected``, ``OBD Connected``, ``Car Connected``.

    Asks the vehicle (``01 00``) when it has not answered yet; never raises
    for a missing or silent adapter, reporting it under ``error`` instead.

    CLI Example::

        fleet 'car-*' obd.status
    """
    settings = settings_from(ctx.module_config(RESOURCE))
    backend = choose(settings, ctx.hardware_for(RESOURCE)).backend
    try:
        with session(ctx) as current:
            connection = current.backend.status()
            if connection != "Car Connected":
                try:
                    current.read(0x01, b"\x00")
                    connection = "Car Connected"
                except AdapterError:
                    connection = _powered(current.backend, connection)
            protocol_name: str | None = current.backend.protocol().name
    except (AdapterError, OSError, TimeoutError) as exc:  # DeviceIOError and DeviceTimeout among them
        return {"connection": "Not Connected", "protocol": None, "backend": backend, "error": str(exc)}
    return {"connection": connection, "protocol": protocol_name, "backend": backend}


def _powered(backend: ObdBackend, connection: str) -> str:
    """``OBD Connected`` when the adapter sees a battery on the OBD socket (the car is off), else ``connection``."""
    try:
        return "OBD Connected" if backend.voltage() > 6.0 else connection
    except AdapterError:
        return connection


def protocol(ctx: DeviceContext, set: str | int | None = None) -> dict[str, Any]:  # "set" as in AutoPi
    """The protocol in use, or with ``set=`` use another (an ELM327 number ``1``-``C``, or ``auto``).

    CLI Example::

        fleet 'car-*' obd.protocol
        fleet 'car-*' obd.protocol set=6
    """
    with session(ctx) as current:
        if set is None:
            return current.backend.protocol().as_dict()
        number = "0" if str(set).strip().lower() in ("auto", "0") else str(set).strip().upper()
        if number not in PROTOCOLS:
            raise InvalidArguments(f"unknown protocol {set!r}; use auto or one of {', '.join(sorted(PROTOCOLS))}")
        current.forget()
        return current.backend.set_protocol(number).as_dict()


def dtc(ctx: DeviceContext, clear: bool = False, confirm: bool = False) -> dict[str, Any]:
    """The stored diagnostic trouble codes (mode 03) of every ECU; ``clear=True`` erases them first (mode 04).

    Clearing also turns off the MIL and resets readiness monitors and freeze
    frames, so it needs ``confirm=True``. Returns ``{"_type": "dtc", "values":
    [{"code": "P0104", "text": "...", "ecu": "7E8"}], ...}``.

    Raises:
        ConfirmationRequired: ``clear=True`` without ``confirm=True``.

    CLI Example::

        fleet 'car-*' obd.dtc
        fleet 'car-42' obd.dtc clear=True confirm=True
    """
    if clear and not confirm:
        raise ConfirmationRequired("obd.dtc clear=True erases the trouble codes, freeze frames and readiness "
                                   "monitors of every ECU; add confirm=True to do it")
    values: list[dict[str, str]] = []
    with session(ctx) as current:
        if clear:
            answer(current.backend.query(0x04, b""), 0x04)
            current.forget()
        try:
            found = answers(current.backend.query(0x03, b""), 0x03)
        except NoData:  # some ECUs stay silent when they have no codes
            found = []
    for ecu, data in found:
        for code in parse_dtcs(data):
            if all(v["code"] != code for v in values):
                values.append({"code": code, "text": describe(code), "ecu": ecu})
    result: dict[str, Any] = {"_type": "dtc", "values": values, "_stamp": _stamp()}
    if clear:
        result["cleared"] = True
    return result


def vin(ctx: DeviceContext) -> dict[str, Any]:
    """The vehicle identification number (mode 09 PID 02), all 17 characters.

    CLI Example::

        fleet 'car-*' obd.vin
    """
    with session(ctx) as current:
        data = current.read(0x09, b"\x02")
    return {"_type": "vin", "value": decode_vin(data), "_stamp": _stamp()}


def _battery_level(volts: float) -> tuple[int, str]:
    """Charge estimate of a 12 V lead-acid battery: 11.8 V empty .. 12.7 V full at rest."""
    if volts >= 13.0:
        return 100, "charging"
    level = round(max(0.0, min(1.0, (volts - 11.8) / 0.9)) * 100)
    return level, "discharging" if volts >= 12.0 else "low" if volts >= 11.7 else "critical"


def battery(ctx: DeviceContext) -> dict[str, Any]:
    """The car battery: voltage the adapter measures (``ATRV``), estimated charge level (%) and state.

    ``state`` is ``charging`` (13.0 V or more: the alternator runs),
    ``discharging``, ``low`` (below 12.0 V) or ``critical`` (below 11.7 V).

    CLI Example::

        fleet 'car-*' obd.battery
    """
    with session(ctx) as current:
        volts = round(current.backend.voltage(), 2)
    level, state = _battery_level(volts)
    return {"_type": "bat", "voltage": volts, "level": level, "state": state, "_stamp": _stamp()}


def send(ctx: DeviceContext, msg: str, header: str | None = None) -> list[str]:
    """Send a raw OBD message (hex, like ``010C`` or ``7E0#22F190``) and return the answer's frames.

    Frames come back as an ELM327 prints them with headers on and spaces off
    (``7E804410C1AF8``). AT commands are not accepted.

    CLI Example::

        fleet 'car-42' obd.send 010C
        fleet 'car-42' obd.send 22F190 header=7E0
    """
    text = msg.strip().upper().replace(" ", "")
    if "#" in text:
        given, _, text = text.partition("#")
        header = header or given
    try:
        data = bytes.fromhex(text)
    except ValueError:
        raise InvalidArguments(f"msg must be hex bytes like 010C, not {msg!r}") from None
    if not data:
        raise InvalidArguments("msg is empty")
    with session(ctx) as current:
        return current.backend.send(data, header)


def available(ctx: DeviceContext) -> Availability:
    """Whether ``obd`` can run here, with which backend, and why that one."""
    try:
        settings = settings_from(ctx.module_config(RESOURCE))
    except InvalidArguments as exc:
        return Availability.no(str(exc))
    choice = choose(settings, ctx.hardware_for(RESOURCE))
    missing = missing_driver(choice.backend)
    if missing:
        return Availability.no(f"the {choice.backend} backend needs {missing}")
    return Availability(True, reason=choice.reason, backend=choice.backend)


MODULE = ModuleSpec(
    name="obd",
    functions={"query": query, "query_many": query_many, "commands": commands, "status": status,
               "protocol": protocol, "dtc": dtc, "vin": vin, "battery": battery, "send": send},
    available=available,
    doc=__doc__ or "",
    idempotent=frozenset({"query", "query_many", "commands", "status", "vin", "battery"}),
)
