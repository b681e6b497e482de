"""``obd.*`` against the ELM327-emulator on a pty: backend choice, failures and recovery, real adapter quirks."""

from __future__ import annotations

import os
import pty
import socket
import time
import tty
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import device_modules.obd as obd
from device_modules.context import DeviceContext
from device_modules.errors import DeviceBusy, DeviceIOError, DeviceTimeout
from device_modules.obd.elm327 import open_port
from device_modules.obd.session import RESOURCE
from tests.obd_peers import emulator, pin, pin_raw


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with emulator(tmp_path_factory.mktemp("elm")) as running:
        yield running


@pytest.fixture
def ctx(emu: Any) -> Iterator[DeviceContext]:
    emu.answer.clear()
    context = DeviceContext("car-1", config={"obd": {"port": emu.get_pty(), "timeout": 5}})  # hardware: auto
    yield context
    context.resources.close()


def test_auto_mode_uses_the_adapter_when_its_port_exists(emu: Any, ctx: DeviceContext) -> None:
    assert obd.available(ctx).backend == "elm327"
    pin(emu, "010D", "41 0D 58")
    assert obd.query(ctx, "SPEED")["value"] == 88
    assert obd.status(ctx)["backend"] == "elm327"


def test_the_scenario_stream_decodes(tmp_path: Path) -> None:
    with emulator(tmp_path) as fresh:
        context = DeviceContext("car-2", hardware="real", config={"obd": {"port": fresh.get_pty()}})
        # The car scenario's first RPM answers are 14 5F, 00 00, 41 C2, 35 CB.
        assert [obd.query(context, "RPM")["value"] for _ in range(4)] == [1303.75, 0.0, 4208.5, 3442.75]
        context.resources.close()


def test_answers_of_two_ecus(emu: Any, ctx: DeviceContext) -> None:
    pin_raw(emu, "03", "<header>7E8</header><size>04</size><data>43 01 01 04</data>"
                       "<header>7EA</header><size>04</size><data>43 01 C1 23</data>")
    values = obd.dtc(ctx)["values"]
    assert [(v["code"], v["ecu"]) for v in values] == [("P0104", "7E8"), ("U0123", "7EA")]


def test_refusal_from_the_ecu(emu: Any, ctx: DeviceContext) -> None:
    pin_raw(emu, "22116B", "<header>7E8</header><size>03</size><data>7F 22 31</data>")
    with pytest.raises(DeviceIOError, match=r"refused 22116B: requestOutOfRange \(7F 22 31\)"):
        obd.query(ctx, "did_116b", mode="22", pid="116B", header="7E0")


def test_another_process_holding_the_port_is_busy(emu: Any) -> None:
    holder = open_port(emu.get_pty(), 38400, 1.0)
    context = DeviceContext("car-1", hardware="real", config={"obd": {"port": emu.get_pty()}})
    try:
        with pytest.raises(DeviceBusy, match="held by another process"):
            obd.query(context, "RPM")
    finally:
        holder.close()


def test_a_tcp_adapter_through_a_socket_url(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with emulator(tmp_path, net_port=port) as tcp:
        pin(tcp, "010C", "41 0C 1A F8")
        url = f"socket://127.0.0.1:{port}"
        context = DeviceContext("car-1", hardware="real", config={"obd": {"port": url, "timeout": 5}})
        assert obd.available(context).backend == "elm327"
        assert obd.query(context, "RPM")["value"] == 1726.0
        context.resources.close()


def test_a_pty_nobody_serves_times_out() -> None:
    master, slave = pty.openpty()
    tty.setraw(slave)
    context = DeviceContext("car-1", hardware="real", config={"obd": {"port": os.ttyname(slave), "timeout": 0.5}})
    try:
        started = time.monotonic()
        with pytest.raises(DeviceTimeout, match="did not answer ATZ within"):
            obd.query(context, "RPM")
        assert time.monotonic() - started < 10
        assert obd.status(context)["connection"] == "Not Connected"
    finally:
        os.close(master)
        os.close(slave)


def test_an_adapter_that_vanishes_fails_cleanly_and_is_reopened_when_back(tmp_path: Path) -> None:
    link = tmp_path / "obd-port"  # the configured port; it points at whichever emulator runs
    context = DeviceContext("car-1", hardware="real", config={"obd": {"port": str(link), "timeout": 3}})
    with emulator(tmp_path) as first:
        link.symlink_to(first.get_pty())
        pin(first, "010D", "41 0D 0A")
        assert obd.query(context, "SPEED")["value"] == 10
    with pytest.raises((DeviceIOError, DeviceTimeout)):
        obd.query(context, "SPEED")
    with pytest.raises(DeviceIOError, match="cannot open OBD adapter port"):
        obd.query(context, "SPEED")  # the handle was dropped: this is a fresh attempt to open
    link.unlink()
    with emulator(tmp_path) as second:
        link.symlink_to(second.get_pty())
        pin(second, "010D", "41 0D 14")
        assert obd.query(context, "SPEED")["value"] == 20
        assert context.resources.get(RESOURCE, lambda: None) is not None
        context.resources.close()
