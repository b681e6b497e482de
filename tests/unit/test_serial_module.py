"""serial.* over pyserial's loop:// simulator and over a real socat pty pair with a peer thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import serial as pyserial

from device_modules import serial
from device_modules.context import DeviceContext
from device_modules.errors import DeviceBusy, DeviceIOError, DeviceTimeout, InvalidArguments
from device_modules.serial import sim
from tests.ptypair import PtyPair, needs_socat, pty_pair


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[DeviceContext]:
    c = DeviceContext(minion_id="pi-1", hardware="sim", state_dir=tmp_path,
                      config={"serial": {"ports": {"obd": "/dev/serial0"}}})
    yield c
    c.resources.close()


# --- the loop:// simulator -------------------------------------------------------------------------------------


def test_what_is_written_comes_back(ctx: DeviceContext) -> None:
    assert serial.write(ctx, "obd", "ATZ\r") == {"port": "obd", "written": 4}
    assert serial.read(ctx, "obd", timeout=0.5) == {"port": "obd", "data": "ATZ\r", "size": 4}


def test_hex_in_and_out(ctx: DeviceContext) -> None:
    assert serial.write(ctx, "obd", "41 54:0d ff", hex=True)["written"] == 4
    assert serial.read(ctx, "obd", hex=True, timeout=0.5)["data"] == "41540dff"


def test_bytes_that_are_not_utf8_stay_visible(ctx: DeviceContext) -> None:
    serial.write(ctx, "obd", "ff41", hex=True)
    assert serial.read(ctx, "obd", timeout=0.5)["data"] == "\\xffA"


def test_backslash_escapes_in_text_stand_for_their_bytes(ctx: DeviceContext) -> None:
    # what a shell user types: a backslash and an r, not a carriage return
    assert serial.write(ctx, "obd", r"AT\x5a\r\n\t\0\\ é")["written"] == 11
    assert serial.read(ctx, "obd", hex=True, timeout=0.5)["data"] == "41545a0d0a09005c20c3a9"
    assert serial.query(ctx, "obd", r"ATI\r\n", terminator=r"\r\n")["data"] == "ATI"


def test_read_with_nothing_waiting_answers_empty_after_the_timeout(ctx: DeviceContext) -> None:
    started = time.monotonic()
    assert serial.read(ctx, "obd", timeout=0.2) == {"port": "obd", "data": "", "size": 0}
    assert 0.2 <= time.monotonic() - started < 1


def test_read_a_line_or_a_size(ctx: DeviceContext) -> None:
    sim.feed(ctx, "obd", b"first\nsecond\n")
    assert serial.read(ctx, "obd", line=True)["data"] == "first\n"
    assert serial.read(ctx, "obd", size=3)["data"] == "sec"
    assert serial.read(ctx, "obd", timeout=0.3)["data"] == "ond\n"


def test_query_answers_up_to_the_terminator(ctx: DeviceContext) -> None:
    sim.feed(ctx, "obd", b"stale bytes from before\r")
    assert serial.query(ctx, "obd", "ATI\r") == {"port": "obd", "data": "ATI", "size": 3}
    assert serial.query(ctx, "obd", "0100>", terminator=">", hex=False)["data"] == "0100"


def test_query_without_the_terminator_times_out(ctx: DeviceContext) -> None:
    started = time.monotonic()
    with pytest.raises(DeviceTimeout, match=r"no '\\r' from obd within 0.3 s \(got b'ATI'\)"):
        serial.query(ctx, "obd", "ATI", timeout=0.3)
    assert 0.3 <= time.monotonic() - started < 1.5


def test_each_logical_name_is_its_own_port(ctx: DeviceContext) -> None:
    serial.write(ctx, "obd", "to obd")
    serial.write(ctx, "modem", "to modem")
    assert serial.read(ctx, "modem", timeout=0.3)["data"] == "to modem"
    assert serial.read(ctx, "obd", timeout=0.3)["data"] == "to obd"


def test_ports_in_simulation_lists_the_aliases(ctx: DeviceContext) -> None:
    assert serial.ports(ctx)[0] == {"device": "obd", "description": "simulated echo port (loop://)", "hwid": "sim"}


@pytest.mark.parametrize("call", [
    lambda c: serial.write(c, "obd", "zz", hex=True),
    lambda c: serial.write(c, "obd", b"raw"),  # type: ignore[arg-type]
    lambda c: serial.write(c, "obd", "x", baudrate=0),
    lambda c: serial.read(c, "obd", timeout=-1),
    lambda c: serial.read(c, "obd", size=0),
    lambda c: serial.query(c, "obd", "x", terminator=""),
    lambda c: serial.query(c, "obd", "x", timeout=float("nan")),
    lambda c: serial.write(c, "", "x"),
])
def test_nonsense_arguments_are_refused(ctx: DeviceContext, call: Callable[[DeviceContext], object]) -> None:
    with pytest.raises(InvalidArguments):
        call(ctx)


def test_a_missing_device_path_is_no_such_port(ctx: DeviceContext) -> None:
    with pytest.raises(DeviceIOError, match="no such port: /dev/ttyNOPE9"):
        serial.write(ctx, "/dev/ttyNOPE9", "x")


def test_on_real_hardware_an_unknown_name_is_no_such_port(tmp_path: Path) -> None:
    ctx = DeviceContext(minion_id="x", hardware="real", config={"serial": {"ports": {"obd": "/dev/ttyNOPE9"}}})
    with pytest.raises(DeviceIOError, match="no such port: modem"):
        serial.read(ctx, "modem", timeout=0)
    with pytest.raises(DeviceIOError, match=r"no such port: obd \(/dev/ttyNOPE9\)"):
        serial.read(ctx, "obd", timeout=0)


def test_availability_says_why_it_simulates(tmp_path: Path) -> None:
    ctx = DeviceContext(minion_id="x", config={"serial": {"root": str(tmp_path)}})
    got = serial.available(ctx)
    assert (got.ok, got.backend) == (True, "sim")
    assert got.reason == "not a Raspberry Pi (no /proc/device-tree/model); using pyserial loop:// echo ports " \
                         "for logical names"


# --- a real pty pair with a peer --------------------------------------------------------------------------------


class Peer:
    """A device on side B: answers each ``\\r``-terminated request, logging what it saw, in order."""

    def __init__(self, path: str, answer: Callable[[bytes], bytes], delay: float = 0.0) -> None:
        self.port = pyserial.Serial(path, timeout=0.05)
        self.answer, self.delay = answer, delay
        self.log: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pending = b""
        while not self._stop.is_set():
            pending += self.port.read(64)
            while b"\r" in pending:
                request, pending = pending.split(b"\r", 1)
                self.log.append(f"rx {request.decode()}")
                time.sleep(self.delay)
                self.log.append(f"tx {request.decode()}")
                self.port.write(self.answer(request))

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.port.close()


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[PtyPair]:
    with pty_pair(tmp_path) as p:
        yield p


@pytest.fixture
def real(tmp_path: Path, pair: PtyPair) -> Iterator[DeviceContext]:
    c = DeviceContext(minion_id="pi-1", hardware="real", config={"serial": {"ports": {"elm": pair.a}}})
    yield c
    c.resources.close()


@needs_socat
def test_query_a_peer_over_a_pty(real: DeviceContext, pair: PtyPair) -> None:
    peer = Peer(pair.b, lambda req: b"ELM327 v1.5\r\r>" if req == b"ATI" else b"?\r\r>")
    try:
        assert serial.query(real, "elm", "ATI\r", terminator=">")["data"] == "ELM327 v1.5\r\r"
        assert serial.query(real, pair.a, "XX\r", terminator="\r\r>", baudrate=38400)["data"] == "?"
    finally:
        peer.close()


@needs_socat
def test_a_silent_peer_is_a_timeout_and_read_answers_what_arrived(real: DeviceContext, pair: PtyPair) -> None:
    peer = Peer(pair.b, lambda req: b"partial")
    try:
        with pytest.raises(DeviceTimeout):
            serial.query(real, "elm", "ATZ\r", timeout=0.3)
        serial.write(real, "elm", "ATZ\r")
        assert serial.read(real, "elm", timeout=1.0)["data"] == "partial"
    finally:
        peer.close()


@needs_socat
def test_the_port_stays_open_and_exclusive_between_calls(real: DeviceContext, pair: PtyPair) -> None:
    serial.write(real, "elm", "x")
    with pytest.raises(pyserial.SerialException, match="exclusively lock"):
        pyserial.Serial(pair.a, exclusive=True)


@needs_socat
def test_a_port_held_by_another_process_is_busy(real: DeviceContext, pair: PtyPair) -> None:
    holder = pyserial.Serial(pair.a, exclusive=True)
    try:
        with pytest.raises(DeviceBusy, match="is busy"):
            serial.write(real, "elm", "x")
    finally:
        holder.close()
    assert serial.write(real, "elm", "x")["written"] == 1


@needs_socat
def test_a_vanished_port_is_an_error_then_reopens(real: DeviceContext, tmp_path: Path) -> None:
    with pty_pair(tmp_path, "gone") as gone:
        real.config = {"serial": {"ports": {"gone": gone.a}}}
        serial.write(real, "gone", "x")
        gone.stop()
        with pytest.raises(DeviceIOError):
            serial.read(real, "gone", size=1, timeout=1)
    with pty_pair(tmp_path, "gone") as back:
        peer = Peer(back.b, lambda req: b"back\r")
        try:
            assert serial.query(real, "gone", "hi\r")["data"] == "back"
        finally:
            peer.close()


@needs_socat
def test_concurrent_queries_on_one_port_never_interleave(real: DeviceContext, pair: PtyPair) -> None:
    # The peer takes 50 ms per answer: without the port lock, several requests would reach it before
    # the first answer went out.
    peer = Peer(pair.b, lambda req: b"re:" + req + b"\r", delay=0.05)
    answers: dict[int, str] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def ask(i: int) -> None:
        start.wait()
        try:
            answers[i] = serial.query(real, "elm", f"job{i}\r", timeout=5)["data"]
        except BaseException as exc:  # collected and re-raised by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    peer.close()
    assert errors == []
    assert answers == {i: f"re:job{i}" for i in range(6)}
    rx_tx = [entry.split()[0] for entry in peer.log]
    assert rx_tx == ["rx", "tx"] * 6, peer.log
