"""One suite for every gpio backend: the MockFactory simulator here, real pins on a Pi.

The real run needs two jumpered pins (gpiozero's ``test_real_pins.py`` idea):
``EDGE_HARDWARE=real EDGEFLEET_GPIO_OUT=20 EDGEFLEET_GPIO_IN=21 pytest tests/contract``.
The suite drives the input pin "from outside" through ``poke``: the simulator's
test verb, or the jumpered output pin.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from device_modules.gpio.backend import GpioBackend
from device_modules.gpio.linux import FactoryPins, open_default
from device_modules.gpio.sim import SimPins, open_sim


class GpioContract:
    """Behaviour every :class:`GpioBackend` shares. Subclasses give ``rig``: (backend, input pin, poke)."""

    @pytest.fixture
    def rig(self) -> Iterator[tuple[GpioBackend, str, Any]]:
        raise NotImplementedError

    def test_names_resolve_to_one_canonical_name(self, rig: tuple[GpioBackend, str, Any]) -> None:
        backend, pin, _ = rig
        number = int(pin[4:])
        assert backend.resolve(number) == backend.resolve(f"BCM{number}") == backend.resolve(pin.lower()) == pin

    def test_an_input_follows_the_outside_world(self, rig: tuple[GpioBackend, str, Any]) -> None:
        backend, pin, poke = rig
        backend.read(pin)
        poke(True)
        assert backend.read(pin) == 1
        poke(False)
        assert backend.read(pin) == 0
        assert backend.mode(pin) == "input"

    def test_wait_for_edge_sees_a_rising_edge(self, rig: tuple[GpioBackend, str, Any]) -> None:
        backend, pin, poke = rig
        backend.read(pin)
        poke(False)
        timer = threading.Timer(0.1, poke, args=(True,))
        timer.start()
        try:
            assert backend.wait_for_edge(pin, "rising", 5.0) == 1
        finally:
            timer.join()

    def test_wait_for_edge_gives_none_when_nothing_happens(self, rig: tuple[GpioBackend, str, Any]) -> None:
        backend, pin, poke = rig
        poke(False)
        started = time.monotonic()
        assert backend.wait_for_edge(pin, "falling", 0.2) is None
        assert time.monotonic() - started >= 0.2

    def test_an_output_reads_back_what_was_written(self, rig: tuple[GpioBackend, str, Any]) -> None:
        backend, _, _ = rig
        out = backend.resolve(os.environ.get("EDGEFLEET_GPIO_SPARE", "26"))
        for level in (True, False, True):
            backend.write(out, level)
            assert backend.read(out) == int(level)
        assert backend.mode(out) == "output"
        assert backend.describe()[out]["value"] == 1

    def test_pwm_then_write_returns_to_a_plain_output(self, rig: tuple[GpioBackend, str, Any]) -> None:
        backend, _, _ = rig
        out = backend.resolve(os.environ.get("EDGEFLEET_GPIO_SPARE", "26"))
        backend.pwm(out, 0.5, 200.0)
        assert backend.mode(out) == "pwm"
        assert backend.read(out) == pytest.approx(0.5)
        backend.write(out, False)
        assert backend.mode(out) == "output" and backend.read(out) == 0


class TestSimPins(GpioContract):
    @pytest.fixture
    def rig(self) -> Iterator[tuple[GpioBackend, str, Any]]:
        backend: SimPins = open_sim()
        pin = backend.resolve(21)
        yield backend, pin, lambda level: backend.drive(pin, level)
        backend.close()


@pytest.mark.skipif(os.environ.get("EDGE_HARDWARE") != "real" or "EDGEFLEET_GPIO_IN" not in os.environ,
                    reason="real pins: set EDGE_HARDWARE=real and jumper EDGEFLEET_GPIO_OUT to EDGEFLEET_GPIO_IN")
class TestRealPins(GpioContract):
    @pytest.fixture
    def rig(self) -> Iterator[tuple[GpioBackend, str, Any]]:
        backend: FactoryPins = open_default({})
        pin = backend.resolve(os.environ["EDGEFLEET_GPIO_IN"])
        driver = backend.resolve(os.environ.get("EDGEFLEET_GPIO_OUT", "20"))
        yield backend, pin, lambda level: backend.write(driver, level)
        backend.close()
