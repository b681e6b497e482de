"""The ELM327 client against a scripted adapter on a real pty: init, echo, error words, headers, timeouts."""

from __future__ import annotations

import os
import pty
import threading
import time
import tty
from collections.abc import Callable, Iterator

import pytest

from device_modules.errors import DeviceBusy, DeviceIOError, DeviceTimeout
from device_modules.obd.elm327 import Elm327, open_port
from device_modules.obd.errors import AdapterError, NoData

Reply = str | None | Callable[[], str]


class ScriptedAdapter:
    """An ELM327 that answers from a script; ``None`` means stay silent. Records every command line."""

    def __init__(self, script: dict[str, Reply], echo: bool = True, sticky_echo: bool = False) -> None:
        self.script: dict[str, Reply] = {"ATZ": "\rELM327 v2.1", "ATE0": "OK", "ATL0": "OK", "ATS0": "OK",
                                         "ATH1": "OK", "ATSP0": "OK", "ATDPN": "A6", **script}
        self.echo = echo
        self.sticky_echo = sticky_echo
        self.received: list[str] = []
        self.master, slave = pty.openpty()
        tty.setraw(slave)
        self._slave = slave
        self.path = os.ttyname(slave)
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        line = b""
        while not self._stop:
            try:
                chunk = os.read(self.master, 64)
            except OSError:
                return
            for byte in chunk:
                if byte != 0x0D:
                    line += bytes([byte])
                    continue
                command = line.decode()
                line = b""
                self.received.append(command)
                if command == "ATE0" and not self.sticky_echo:
                    self.echo = False
                reply = self.script.get(command, "?")
                if callable(reply):
                    reply = reply()
                if reply is None:
                    continue
                echoed = command + "\r" if self.echo else ""
                os.write(self.master, (echoed + reply + "\r\r>").encode())

    def close(self) -> None:
        self._stop = True
        for fd in (self.master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass


@pytest.fixture
def adapter() -> Iterator[Callable[..., ScriptedAdapter]]:
    made: list[ScriptedAdapter] = []

    def make(script: dict[str, Reply] | None = None, **kw: bool) -> ScriptedAdapter:
        made.append(ScriptedAdapter(script or {}, **kw))
        return made[-1]

    yield make
    for a in made:
        a.close()


def test_initialisation_sequence_and_version(adapter: Callable[..., ScriptedAdapter]) -> None:
    fake = adapter()
    elm = Elm327(fake.path, timeout=2)
    assert fake.received == ["ATZ", "ATE0", "ATL0", "ATS0", "ATH1", "ATSP0"]
    assert elm.version == "ELM327 v2.1"
    assert elm.status() == "ELM Connected"
    elm.close()


def test_configured_protocol_is_set(adapter: Callable[..., ScriptedAdapter]) -> None:
    fake = adapter({"ATSP6": "OK", "ATDPN": "6"})
    elm = Elm327(fake.path, timeout=2, protocol="6")
    assert "ATSP6" in fake.received
    assert elm.protocol().as_dict() == {"id": "6", "name": "ISO 15765-4 (CAN 11/500)", "auto": False}
    elm.close()


def test_echo_searching_and_headers_are_handled(adapter: Callable[..., ScriptedAdapter]) -> None:
    fake = adapter({"010C": "SEARCHING...\r7E804410C1AF8"}, sticky_echo=True)  # a clone that ignores ATE0
    elm = Elm327(fake.path, timeout=2)
    [message] = elm.query(0x01, b"\x0c")
    assert (message.ecu, message.data) == ("7E8", bytes.fromhex("410C1AF8"))
    assert elm.status() == "Car Connected"
    elm.close()


def test_answers_of_several_ecus_and_multi_frame(adapter: Callable[..., ScriptedAdapter]) -> None:
    fake = adapter({
        "0100": "7E9064100 98180001\r7E8064100BE3FA813",
        "0902": "7E81014490201575030\r7E8215A5A5A39395A54\r7E82253333930303030",
    })
    elm = Elm327(fake.path, timeout=2)
    messages = elm.query(0x01, b"\x00")
    assert {m.ecu: m.data.hex().upper() for m in messages} == {"7E9": "410098180001", "7E8": "4100BE3FA813"}
    [vin] = elm.query(0x09, b"\x02")
    assert vin.data == b"\x49\x02\x01WP0ZZZ99ZTS390000"
    assert len(vin.frames) == 3
    elm.close()


def test_29_bit_and_legacy_frames(adapter: Callable[..., ScriptedAdapter]) -> None:
    fake = adapter({"ATDPN": "A7", "010D": "18DAF11003410D32"})
    elm = Elm327(fake.path, timeout=2)
    assert [(m.ecu, m.data) for m in elm.query(0x01, b"\x0d")] == [("18DAF110", b"\x41\x0d\x32")]
    elm.close()
    legacy = adapter({"ATDPN": "A3", "010D": "486B10410D32C4"})
    elm = Elm327(legacy.path, timeout=2)
    assert [(m.ecu, m.data) for m in elm.query(0x01, b"\x0d")] == [("486B10", b"\x41\x0d\x32")]
    elm.close()


@pytest.mark.parametrize(("reply", "error", "words"), [
    ("NO DATA", NoData, "NO DATA"),
    ("CAN ERROR", AdapterError, "CAN ERROR"),
    ("SEARCHING...\rUNABLE TO CONNECT", AdapterError, "UNABLE TO CONNECT"),
    ("?", AdapterError, "did not understand"),
    ("STOPPED", AdapterError, "STOPPED"),
    ("BUS INIT: ...ERROR", AdapterError, "BUS INIT: ...ERROR"),
    ("BUFFER FULL", AdapterError, "BUFFER FULL"),
])
def test_adapter_errors_quote_the_adapter(adapter: Callable[..., ScriptedAdapter], reply: str,
                                          error: type[Exception], words: str) -> None:
    fake = adapter({"010C": reply})
    elm = Elm327(fake.path, timeout=2)
    with pytest.raises(error, match=words.replace(".", r"\.").replace("?", r"\?")):
        elm.query(0x01, b"\x0c")
    fake.script["010C"] = "7E804410C1AF8"  # the connection stays usable after an adapter error
    assert elm.query(0x01, b"\x0c")[0].data == bytes.fromhex("410C1AF8")
    elm.close()


def test_an_adapter_reset_is_a_port_level_error(adapter: Callable[..., ScriptedAdapter]) -> None:
    fake = adapter({"010C": "LV RESET"})
    elm = Elm327(fake.path, timeout=2)
    with pytest.raises(DeviceIOError) as caught:
        elm.query(0x01, b"\x0c")
    assert not isinstance(caught.value, AdapterError)
    elm.close()


def test_headers_are_switched_and_restored(adapter: Callable[..., ScriptedAdapter]) -> None:
    fake = adapter({"ATSH7E0": "OK", "ATSH7DF": "OK", "ATCP18": "OK", "ATSHDA10F1": "OK", "010C": "7E804410C1AF8"})
    elm = Elm327(fake.path, timeout=2)
    elm.query(0x01, b"\x0c", header="7E0")
    elm.query(0x01, b"\x0c", header="7E0")
    elm.query(0x01, b"\x0c")
    elm.query(0x01, b"\x0c", header="18DA10F1")
    sent = [c for c in fake.received if c.startswith(("ATSH", "ATCP"))]
    assert sent == ["ATSH7E0", "ATSH7DF", "ATCP18", "ATSHDA10F1"]
    with pytest.raises(AdapterError, match="hex digits"):
        elm.query(0x01, b"\x0c", header="7E")
    elm.close()


def test_no_bare_carriage_return_is_ever_sent(adapter: Callable[..., ScriptedAdapter]) -> None:
    fake = adapter({"04": "7E80144", "010C": "NO DATA"})
    elm = Elm327(fake.path, timeout=2)
    elm.query(0x04, b"")
    with pytest.raises(NoData):
        elm.query(0x01, b"\x0c")
    assert "" not in fake.received  # a bare CR would repeat "04": clear the codes again
    elm.close()


def test_silent_adapter_times_out(adapter: Callable[..., ScriptedAdapter]) -> None:
    fake = adapter({"010C": None})
    elm = Elm327(fake.path, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(DeviceTimeout, match="did not answer 010C within 0.3 s"):
        elm.query(0x01, b"\x0c")
    assert time.monotonic() - started < 2
    elm.close()


def test_voltage(adapter: Callable[..., ScriptedAdapter]) -> None:
    fake = adapter({"ATRV": "12.6V"})
    elm = Elm327(fake.path, timeout=2)
    assert elm.voltage() == 12.6
    fake.script["ATRV"] = "NOT A VOLTAGE"
    with pytest.raises(AdapterError, match="ATRV"):
        elm.voltage()
    elm.close()


def test_missing_port_is_a_clear_io_error(tmp_path: os.PathLike[str]) -> None:
    missing = f"{tmp_path}/no-adapter-here"
    with pytest.raises(DeviceIOError, match=f"cannot open OBD adapter port {missing}"):
        open_port(missing, 38400, 1.0)


def test_a_held_port_is_busy(adapter: Callable[..., ScriptedAdapter]) -> None:
    fake = adapter()
    held = open_port(fake.path, 38400, 1.0)
    try:
        with pytest.raises(DeviceBusy, match="held by another process"):
            open_port(fake.path, 38400, 1.0)
    finally:
        held.close()
