"""gpio.* on gpiozero's MockFactory: pin names, levels, pulses, edges, PWM, locking."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from device_modules import gpio
from device_modules.context import DeviceContext
from device_modules.errors import DeviceTimeout, InvalidArguments, ModuleUnavailable
from device_modules.gpio import sim
from device_modules.spec import Availability


@pytest.fixture
def ctx(tmp_path: Path) -> DeviceContext:
    return DeviceContext(minion_id="pi-1", hardware="sim", state_dir=tmp_path)


def later(delay: float, fn: object, *args: object) -> threading.Thread:
    def run() -> None:
        time.sleep(delay)
        fn(*args)  # type: ignore[operator]

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_unused_pin_reads_as_a_floating_input(ctx: DeviceContext) -> None:
    assert gpio.read(ctx, 17) == {"pin": "GPIO17", "mode": "input", "value": 0}


@pytest.mark.parametrize("name", [17, "17", "GPIO17", "gpio17", "BCM17", "BOARD11", "board11", "J8:11", " WPI0 "])
def test_every_name_of_a_pin_reaches_the_same_pin(ctx: DeviceContext, name: int | str) -> None:
    sim.drive_high(ctx, 17)
    assert gpio.read(ctx, name) == {"pin": "GPIO17", "mode": "input", "value": 1}


@pytest.mark.parametrize("bad", [99, -1, "BOARD1", "3V3", "GPIO99", "pin7", "", True, 1.5, None])
def test_an_invalid_pin_is_refused(ctx: DeviceContext, bad: object) -> None:
    with pytest.raises(InvalidArguments):
        gpio.read(ctx, bad)  # type: ignore[arg-type]


def test_write_drives_an_output_and_records_each_change(ctx: DeviceContext) -> None:
    assert gpio.write(ctx, "BOARD11", 1) == {"pin": "GPIO17", "value": 1}
    assert gpio.read(ctx, 17) == {"pin": "GPIO17", "mode": "output", "value": 1}
    gpio.write(ctx, 17, False)
    assert [level for _, level in sim.history(ctx, 17)] == [0.0, 1.0, 0.0]


@pytest.mark.parametrize("bad", [2, -1, "high", 0.5, None])
def test_write_refuses_a_level_other_than_0_or_1(ctx: DeviceContext, bad: object) -> None:
    with pytest.raises(InvalidArguments, match="0 or 1"):
        gpio.write(ctx, 17, bad)  # type: ignore[arg-type]
    assert gpio.pins(ctx) == {}


def test_toggle_flips_an_output_and_refuses_an_input(ctx: DeviceContext) -> None:
    assert [gpio.toggle(ctx, 22)["value"] for _ in range(3)] == [1, 0, 1]
    gpio.read(ctx, 23)
    with pytest.raises(InvalidArguments, match="input"):
        gpio.toggle(ctx, 23)


def test_pulse_goes_high_for_the_duration_and_ends_where_it_started(ctx: DeviceContext) -> None:
    out = gpio.pulse(ctx, 27, duration=0.05, count=3, off_time=0.1)
    assert out == {"pin": "GPIO27", "count": 3, "duration": 0.05, "off_time": 0.1, "value": 0}
    changes = sim.history(ctx, 27)
    assert [level for _, level in changes] == [0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    # each high lasts ~duration, each low between pulses ~off_time (seconds since the previous change)
    assert [round(t, 1) for t, _ in changes[2:]] == [0.1, 0.1, 0.1, 0.1, 0.1]
    assert all(0.04 <= t <= 0.09 for t, _ in changes[2::2])


def test_pulse_on_a_high_output_pulses_low(ctx: DeviceContext) -> None:
    gpio.write(ctx, 27, 1)
    assert gpio.pulse(ctx, 27, duration=0.01)["value"] == 1
    assert [level for _, level in sim.history(ctx, 27)] == [0.0, 1.0, 0.0, 1.0]


@pytest.mark.parametrize("kwargs", [{"duration": 0}, {"duration": -1}, {"count": 0}, {"count": 2.5},
                                    {"off_time": -0.1}, {"duration": 3000, "count": 2}])
def test_pulse_refuses_nonsense(ctx: DeviceContext, kwargs: dict[str, float]) -> None:
    with pytest.raises(InvalidArguments):
        gpio.pulse(ctx, 27, **kwargs)  # type: ignore[arg-type]
    assert gpio.pins(ctx) == {}


def test_wait_for_edge_answers_the_edge_the_level_and_the_wait(ctx: DeviceContext) -> None:
    later(0.15, sim.drive_high, ctx, 4)
    out = gpio.wait_for_edge(ctx, 4, edge="rising", timeout=5)
    assert out["pin"] == "GPIO4" and out["edge"] == "rising" and out["value"] == 1
    assert 0.1 <= out["waited"] < 2


def test_wait_for_edge_ignores_the_other_edge(ctx: DeviceContext) -> None:
    sim.drive_high(ctx, 4)
    later(0.05, sim.drive_low, ctx, 4)
    later(0.3, sim.drive_high, ctx, 4)
    out = gpio.wait_for_edge(ctx, 4, edge="rising", timeout=5)
    assert out["edge"] == "rising" and out["waited"] >= 0.25


def test_wait_for_both_edges_reports_which_one_came(ctx: DeviceContext) -> None:
    sim.drive_high(ctx, 4)
    later(0.05, sim.drive_low, ctx, 4)
    out = gpio.wait_for_edge(ctx, "GPIO4", edge="both", timeout=5)
    assert (out["edge"], out["value"]) == ("falling", 0)


def test_wait_for_edge_times_out_with_a_device_timeout(ctx: DeviceContext) -> None:
    started = time.monotonic()
    with pytest.raises(DeviceTimeout, match="no falling edge on GPIO4 within 0.2 s"):
        gpio.wait_for_edge(ctx, 4, edge="falling", timeout=0.2)
    assert 0.2 <= time.monotonic() - started < 1.5


def test_wait_for_edge_refuses_an_output_and_a_bad_edge(ctx: DeviceContext) -> None:
    gpio.write(ctx, 5, 0)
    with pytest.raises(InvalidArguments, match="output"):
        gpio.wait_for_edge(ctx, 5, timeout=0.1)
    with pytest.raises(InvalidArguments, match="edge must be"):
        gpio.wait_for_edge(ctx, 6, edge="up", timeout=0.1)


def test_pwm_sets_duty_and_frequency_until_a_write_ends_it(ctx: DeviceContext) -> None:
    assert gpio.pwm(ctx, 18, 0.25, frequency=1000) == {"pin": "GPIO18", "duty_cycle": 0.25, "frequency": 1000.0}
    assert gpio.read(ctx, 18) == {"pin": "GPIO18", "mode": "pwm", "value": 0.25}
    assert gpio.pins(ctx)["GPIO18"] == {"mode": "pwm", "header_pin": "J8:12", "value": 0.25, "frequency": 1000.0}
    gpio.write(ctx, 18, 1)
    assert gpio.read(ctx, 18) == {"pin": "GPIO18", "mode": "output", "value": 1}


@pytest.mark.parametrize("duty, freq", [(1.5, 100), (-0.1, 100), ("half", 100), (0.5, 0), (0.5, -5)])
def test_pwm_refuses_out_of_range_values(ctx: DeviceContext, duty: object, freq: object) -> None:
    with pytest.raises(InvalidArguments):
        gpio.pwm(ctx, 18, duty, frequency=freq)  # type: ignore[arg-type]


def test_pins_lists_every_pin_used_with_mode_and_level(ctx: DeviceContext) -> None:
    gpio.write(ctx, 17, 1)
    sim.drive_high(ctx, 2)  # GPIO2 has a fixed pull-up on the Pi 3B
    gpio.read(ctx, "BOARD16")
    assert gpio.pins(ctx) == {
        "GPIO2": {"mode": "input", "header_pin": "J8:3", "value": 1, "pull": "up"},
        "GPIO17": {"mode": "output", "header_pin": "J8:11", "value": 1},
        "GPIO23": {"mode": "input", "header_pin": "J8:16", "value": 0, "pull": "floating"},
    }


def test_a_test_verb_cannot_drive_an_output(ctx: DeviceContext) -> None:
    gpio.write(ctx, 17, 0)
    with pytest.raises(InvalidArguments, match="output"):
        sim.drive_high(ctx, 17)


def test_jobs_on_one_pin_run_one_after_the_other(ctx: DeviceContext) -> None:
    pulsing = threading.Thread(target=gpio.pulse, args=(ctx, 17), kwargs={"duration": 0.3})
    pulsing.start()
    time.sleep(0.1)  # the write arrives in the middle of the pulse
    gpio.write(ctx, 17, 1)
    pulsing.join()
    # the write waited for the pulse to finish: high, low, then the write's high
    assert [level for _, level in sim.history(ctx, 17)] == [0.0, 1.0, 0.0, 1.0]
    assert gpio.read(ctx, 17)["value"] == 1


def test_each_context_owns_its_own_pins(tmp_path: Path) -> None:
    a = DeviceContext(minion_id="a", hardware="sim", state_dir=tmp_path)
    b = DeviceContext(minion_id="b", hardware="sim", state_dir=tmp_path)
    gpio.write(a, 17, 1)
    assert gpio.pins(b) == {}


def test_off_a_pi_auto_falls_back_to_the_simulator_and_says_why(tmp_path: Path) -> None:
    ctx = DeviceContext(minion_id="x", config={"gpio": {"root": str(tmp_path)}}, hardware="auto")
    got = gpio.available(ctx)
    assert got.ok and got.backend == "sim"
    assert got.reason == "not a Raspberry Pi (no /proc/device-tree/model); using the gpiozero MockFactory simulator"


def test_on_a_pi_without_a_pin_library_real_gpio_is_unavailable_with_reasons(tmp_path: Path) -> None:
    model = tmp_path / "proc/device-tree/model"
    model.parent.mkdir(parents=True)
    model.write_bytes(b"Raspberry Pi 4 Model B Rev 1.4\0")
    ctx = DeviceContext(minion_id="x", config={"gpio": {"root": str(tmp_path)}}, hardware="auto")
    got = gpio.available(ctx)
    if got.ok:
        pytest.skip("a gpiozero pin factory loads on this machine")
    assert "no gpiozero pin factory loads" in got.reason and "lgpio" in got.reason
    with pytest.raises(ModuleUnavailable, match="module 'gpio' is unavailable"):
        gpio.read(ctx, 17)


def test_a_named_pin_factory_that_does_not_exist_is_reported(tmp_path: Path) -> None:
    ctx = DeviceContext(minion_id="x", config={"gpio": {"hardware": "real", "pin_factory": "nosuch"}})
    assert gpio.available(ctx) == Availability.no("no gpiozero pin factory named 'nosuch'")
