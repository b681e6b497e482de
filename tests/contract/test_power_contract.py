"""One suite for both power backends: the recording simulator, and the real helper backend whose
helper is a script that records its arguments (a real reboot is the one thing tests may not run)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from device_modules.power.backend import PowerBackend
from device_modules.power.linux import HelperPower
from device_modules.power.sim import SimPower, requested

Acts = Callable[[], list[str]]


class PowerContract:
    """What every :class:`PowerBackend` does. Subclasses give ``rig``: (backend, acts seen so far)."""

    @pytest.fixture
    def rig(self, tmp_path: Path) -> Iterator[tuple[PowerBackend, Acts]]:
        raise NotImplementedError

    def test_each_act_is_performed_once_in_order(self, rig: tuple[PowerBackend, Acts]) -> None:
        backend, acts = rig
        backend.set_wake_alarm(120)
        backend.poweroff(0)
        backend.reboot(0)
        assert acts() == ["wakealarm 120", "poweroff", "reboot"]

    def test_a_delayed_act_is_accepted_at_once(self, rig: tuple[PowerBackend, Acts]) -> None:
        backend, acts = rig
        started = time.monotonic()
        backend.reboot(0.2)
        assert time.monotonic() - started < 0.2
        deadline = time.monotonic() + 10
        while not acts() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert acts() == ["reboot"]

    def test_a_board_with_an_rtc_can_be_woken(self, rig: tuple[PowerBackend, Acts]) -> None:
        backend, _ = rig
        assert backend.no_wake_alarm() is None


class TestSimPower(PowerContract):
    @pytest.fixture
    def rig(self, tmp_path: Path) -> Iterator[tuple[PowerBackend, Acts]]:
        def acts() -> list[str]:
            return [" ".join([a["action"], *([str(a["seconds"])] if "seconds" in a else [])])
                    for a in requested(tmp_path)]

        yield SimPower(tmp_path), acts


class TestHelperPower(PowerContract):
    @pytest.fixture
    def rig(self, tmp_path: Path) -> Iterator[tuple[PowerBackend, Acts]]:
        calls = tmp_path / "calls"
        script = tmp_path / "power-helper"
        script.write_text(f'#!/bin/sh\necho "$*" >> "{calls}"\n')
        script.chmod(0o755)
        (tmp_path / "sys/class/rtc/rtc0").mkdir(parents=True)
        (tmp_path / "sys/class/rtc/rtc0/wakealarm").write_text("\n")

        def acts() -> list[str]:
            return calls.read_text().splitlines() if calls.exists() else []

        yield HelperPower([str(script)], root=tmp_path), acts
