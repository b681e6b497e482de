"""The CAN backend on python-can's in-process ``virtual`` bus, against fake ECUs that speak ISO 15765-2."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import can
import pytest

from device_modules.errors import InvalidArguments
from device_modules.obd.can_backend import CanBackend
from device_modules.obd.decode import segment
from device_modules.obd.errors import NoData

VIN_ANSWER = b"\x49\x02\x01WP0ZZZ99ZTS390000"


class FakeEcu:
    """Answers requests on a virtual bus; waits for the tester's flow control before consecutive frames."""

    def __init__(self, channel: str, request_id: int, response_id: int, answers: dict[bytes, list[tuple[float, bytes]]],
                 functional_id: int = 0x7DF, extended: bool = False) -> None:
        self.bus = can.Bus(interface="virtual", channel=channel, receive_own_messages=False)
        self.request_id, self.response_id, self.functional_id = request_id, response_id, functional_id
        self.extended = extended
        self.answers = answers
        self.requests: list[tuple[int, bytes]] = []
        self.flow_controls: list[int] = []
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _send(self, data: bytes) -> None:
        self.bus.send(can.Message(arbitration_id=self.response_id, data=data.ljust(8, b"\x00"),
                                  is_extended_id=self.extended))

    def _serve(self) -> None:
        while not self._stop:
            msg = self.bus.recv(0.05)
            if msg is None or msg.arbitration_id not in (self.request_id, self.functional_id):
                continue
            if msg.data[0] >> 4 == 3:
                self.flow_controls.append(msg.arbitration_id)
                continue
            request = bytes(msg.data[1:1 + msg.data[0]])
            self.requests.append((msg.arbitration_id, request))
            for delay, payload in self.answers.get(request, []):
                time.sleep(delay)
                frames = segment(payload)
                self._send(frames[0])
                if len(frames) > 1 and not self._await_flow_control():
                    break
                for frame in frames[1:]:
                    self._send(frame)

    def _await_flow_control(self) -> bool:
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            msg = self.bus.recv(0.05)
            if msg is not None and msg.arbitration_id == self.request_id and msg.data[0] >> 4 == 3:
                self.flow_controls.append(msg.arbitration_id)
                return True
        return False

    def stop(self) -> None:
        self._stop = True
        self._thread.join(2)
        self.bus.shutdown()


@pytest.fixture
def bus() -> Iterator[Callable[..., tuple[CanBackend, Callable[..., FakeEcu]]]]:
    made: list[Any] = []

    def make(**options: Any) -> tuple[CanBackend, Callable[..., FakeEcu]]:
        channel = f"obd-{uuid.uuid4().hex}"

        def ecu(*args: Any, **kwargs: Any) -> FakeEcu:
            made.append(FakeEcu(channel, *args, **kwargs))
            return made[-1]  # type: ignore[no-any-return]

        backend = CanBackend({"interface": "virtual", "channel": channel}, **options)
        made.append(backend)
        return backend, ecu

    yield make
    for item in reversed(made):
        item.stop() if isinstance(item, FakeEcu) else item.close()


def test_all_ecus_answer_and_the_wait_ends_soon_after(bus: Callable[..., Any]) -> None:
    backend, ecu = bus(response_timeout=2.0, settle=0.05)
    ecu(0x7E0, 0x7E8, {b"\x01\x0d": [(0.0, b"\x41\x0d\x32")]})
    ecu(0x7E1, 0x7E9, {b"\x01\x0d": [(0.02, b"\x41\x0d\x00")]})
    started = time.monotonic()
    messages = backend.query(0x01, b"\x0d")
    assert sorted((m.ecu, m.data) for m in messages) == [("7E8", b"\x41\x0d\x32"), ("7E9", b"\x41\x0d\x00")]
    assert time.monotonic() - started < 1.0  # not the whole response_timeout
    assert backend.status() == "Car Connected"


def test_multi_frame_answer_gets_flow_control_from_its_ecu_address(bus: Callable[..., Any]) -> None:
    backend, ecu = bus()
    engine = ecu(0x7E0, 0x7E8, {b"\x09\x02": [(0.0, VIN_ANSWER)]})
    [message] = backend.query(0x09, b"\x02")
    assert message.data == VIN_ANSWER
    assert engine.flow_controls == [0x7E0]
    assert [f.text for f in message.frames] == ["7E81014490201575030", "7E8215A5A5A39395A54", "7E82253333930303030"]


def test_physical_request_goes_to_the_header(bus: Callable[..., Any]) -> None:
    backend, ecu = bus()
    engine = ecu(0x7E0, 0x7E8, {b"\x22\xf1\x90": [(0.0, b"\x62\xf1\x90" + b"WP0ZZZ99ZTS390000")]},
                 functional_id=-1)
    [message] = backend.query(0x22, b"\xf1\x90", header="7E0")
    assert message.data.endswith(b"ZTS390000")
    assert engine.requests == [(0x7E0, b"\x22\xf1\x90")]


def test_response_pending_extends_the_wait(bus: Callable[..., Any]) -> None:
    backend, ecu = bus(response_timeout=0.3)
    ecu(0x7E0, 0x7E8, {b"\x22\x01\x05": [(0.0, b"\x7f\x22\x78"), (0.6, b"\x62\x01\x05\x64")]})
    [message] = backend.query(0x22, b"\x01\x05", header="7E0")
    assert message.data == b"\x62\x01\x05\x64"


def test_29_bit_addressing(bus: Callable[..., Any]) -> None:
    backend, ecu = bus(extended=True)
    ecu(0x18DA10F1, 0x18DAF110, {b"\x01\x0c": [(0.0, b"\x41\x0c\x1a\xf8")]}, functional_id=0x18DB33F1,
        extended=True)
    assert [(m.ecu, m.data) for m in backend.query(0x01, b"\x0c")] == [("18DAF110", b"\x41\x0c\x1a\xf8")]
    assert [(m.ecu, m.data) for m in backend.query(0x01, b"\x0c", header="18DA10F1")] == [
        ("18DAF110", b"\x41\x0c\x1a\xf8")]
    assert backend.protocol().id == "7"


def test_silence_is_no_data_after_the_response_timeout(bus: Callable[..., Any]) -> None:
    backend, ecu = bus(response_timeout=0.2)
    ecu(0x7E0, 0x7E8, {})
    started = time.monotonic()
    with pytest.raises(NoData, match="no ECU answered 010A .* within 0.2 s"):
        backend.query(0x01, b"\x0a")
    assert 0.2 <= time.monotonic() - started < 1.0


@pytest.mark.parametrize(("header", "words"), [("7E8", "not a physical request id"), ("zz", "not a hex CAN id")])
def test_bad_headers(bus: Callable[..., Any], header: str, words: str) -> None:
    backend, _ = bus()
    with pytest.raises(InvalidArguments, match=words):
        backend.query(0x01, b"\x0c", header=header)


def test_protocol_follows_the_bus(bus: Callable[..., Any]) -> None:
    backend, _ = bus()
    assert backend.protocol().as_dict() == {"id": "6", "name": "ISO 15765-4 (CAN 11/500)", "auto": False}
    assert backend.set_protocol("7").id == "7" and backend.extended
    with pytest.raises(InvalidArguments, match="bitrate"):
        backend.set_protocol("8")
