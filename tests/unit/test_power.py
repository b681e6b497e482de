"""power.* over fake /proc and /sys trees, the recording simulator, and the real backend's helper
pointed at a recording script (the one thing that may not run here is a real reboot)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from device_modules import power
from device_modules.context import DeviceContext
from device_modules.errors import ConfirmationRequired, DeviceIOError, InvalidArguments
from device_modules.power.linux import HelperPower
from device_modules.power.readings import decode_throttled
from device_modules.power.sim import requested
from device_modules.spec import Availability


def tree(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return root


PI = {
    "proc/uptime": "12345.67 40000.00\n",
    "sys/class/thermal/thermal_zone0/temp": "48312\n",
    "sys/devices/platform/soc/soc:firmware/get_throttled": "50005\n",
    "sys/class/rtc/rtc0/wakealarm": "\n",
    "proc/device-tree/model": "Raspberry Pi 4 Model B Rev 1.4\0",
}


@pytest.fixture
def ctx(tmp_path: Path) -> DeviceContext:
    root = tree(tmp_path / "root", PI)
    return DeviceContext(minion_id="car-1", hardware="sim", state_dir=tmp_path / "state",
                         config={"power": {"root": str(root)}})


# --- status ---------------------------------------------------------------------------------------------------


def test_status_reads_uptime_temperature_and_firmware_flags(ctx: DeviceContext) -> None:
    got = power.status(ctx)
    assert got["backend"] == "sim" and got["uptime"] == 12345.67 and got["cpu_temp"] == 48.3
    assert got["undervoltage"] == {"now": True, "since_boot": True}
    assert got["throttling"] == {"now": True, "since_boot": True, "raw": "0x50005",
                                 "freq_capped": {"now": False, "since_boot": False},
                                 "soft_temp_limit": {"now": False, "since_boot": False}}
    assert got["supply_voltage"] is None
    assert got["reasons"] == {"supply_voltage": "the obd module is not configured (no 'obd:' section)"}


@pytest.mark.parametrize("word, now, since", [
    (0x0, [], []),
    (0x1, ["undervoltage"], []),
    (0x2, ["freq_capped"], []),
    (0x4, ["throttled"], []),
    (0x8, ["soft_temp_limit"], []),
    (0x10000, [], ["undervoltage"]),
    (0x20000, [], ["freq_capped"]),
    (0x40000, [], ["throttled"]),
    (0x80000, [], ["soft_temp_limit"]),
    (0xF000F, ["undervoltage", "freq_capped", "throttled", "soft_temp_limit"],
     ["undervoltage", "freq_capped", "throttled", "soft_temp_limit"]),
])
def test_each_firmware_bit_means_one_flag(word: int, now: list[str], since: list[str]) -> None:
    d = decode_throttled(word)
    t = d["throttling"]
    flags = {"undervoltage": d["undervoltage"], "throttled": t, "freq_capped": t["freq_capped"],
             "soft_temp_limit": t["soft_temp_limit"]}
    assert sorted(k for k, v in flags.items() if v["now"]) == sorted(now)
    assert sorted(k for k, v in flags.items() if v["since_boot"]) == sorted(since)


def test_a_pi_5_firmware_path_is_read_too(tmp_path: Path) -> None:
    root = tree(tmp_path, {"sys/devices/platform/soc@107c000000/soc@107c000000:firmware/get_throttled": "0\n"})
    ctx = DeviceContext(minion_id="x", hardware="sim", state_dir=tmp_path, config={"power": {"root": str(root)}})
    assert power.status(ctx)["undervoltage"] == {"now": False, "since_boot": False}


def test_off_a_pi_each_missing_value_is_null_with_a_reason(tmp_path: Path) -> None:
    ctx = DeviceContext(minion_id="x", hardware="sim", state_dir=tmp_path, config={"power": {"root": str(tmp_path)}})
    got = power.status(ctx)
    assert [got[k] for k in ("uptime", "cpu_temp", "undervoltage", "throttling", "supply_voltage")] == [None] * 5
    assert got["reasons"] == {
        "uptime": "/proc/uptime is missing",
        "cpu_temp": "/sys/class/thermal/thermal_zone0/temp is missing",
        "undervoltage": "no Raspberry Pi firmware throttle report "
                        "(/sys/devices/platform/soc/soc:firmware/get_throttled is missing)",
        "throttling": "no Raspberry Pi firmware throttle report "
                      "(/sys/devices/platform/soc/soc:firmware/get_throttled is missing)",
        "supply_voltage": "the obd module is not configured (no 'obd:' section)",
    }


def test_garbled_files_are_reported_not_raised(tmp_path: Path) -> None:
    root = tree(tmp_path, {"proc/uptime": "soon\n", "sys/class/thermal/thermal_zone0/temp": "hot\n",
                           "sys/devices/platform/soc/soc:firmware/get_throttled": "zz\n"})
    ctx = DeviceContext(minion_id="x", hardware="sim", state_dir=tmp_path, config={"power": {"root": str(root)}})
    got = power.status(ctx)
    assert got["uptime"] is None and "not understood" in got["reasons"]["uptime"]
    assert got["cpu_temp"] is None and "not understood" in got["reasons"]["cpu_temp"]
    assert got["throttling"] is None and "not understood" in got["reasons"]["throttling"]


@pytest.mark.parametrize("source_cfg, volts, reason", [
    ({"voltage": 12.6}, 12.6, None),
    ({"voltage": 13}, 13.0, None),
    ({"fail": "ELM327 answered NO DATA"}, None, "fake_battery.battery failed: ELM327 answered NO DATA"),
    ({"available": False}, None, "the fake_battery module is unavailable: no adapter on /dev/serial0"),
    ({"voltage": "high"}, None, "fake_battery.battery answered no voltage"),
])
def test_supply_voltage_comes_from_the_voltage_source(ctx: DeviceContext, source_cfg: dict[str, Any],
                                                      volts: float | None, reason: str | None) -> None:
    ctx.config = {**ctx.config, "power": {**ctx.config["power"], "voltage_source": "tests.unit.fake_battery"},
                  "fake_battery": source_cfg}
    got = power.status(ctx)
    assert got["supply_voltage"] == volts
    assert (got["reasons"].get("supply_voltage") or "").startswith(reason or "")
    assert ("supply_voltage" in got["reasons"]) == (reason is not None)


def test_a_voltage_source_that_is_not_installed_is_a_reason(ctx: DeviceContext) -> None:
    ctx.config = {**ctx.config, "power": {**ctx.config["power"], "voltage_source": "device_modules.nosuch"},
                  "nosuch": {}}
    assert power.status(ctx)["reasons"]["supply_voltage"].startswith("device_modules.nosuch is not installed")


# --- disruptive acts on the simulator ---------------------------------------------------------------------------


@pytest.mark.parametrize("act", [power.reboot, power.shutdown, power.sleep])
@pytest.mark.parametrize("confirm", [False, "yes", 1, None])
def test_every_disruptive_act_needs_confirm_true(ctx: DeviceContext, act: Any, confirm: object) -> None:
    with pytest.raises(ConfirmationRequired, match="confirm=True"):
        act(ctx, confirm=confirm)
    assert requested(ctx.state_dir) == []


def test_the_simulator_records_reboot_and_shutdown(ctx: DeviceContext) -> None:
    got = power.reboot(ctx, confirm=True, delay=5)
    assert {k: got[k] for k in ("action", "delay", "backend")} == {"action": "reboot", "delay": 5.0, "backend": "sim"}
    power.shutdown(ctx, confirm=True)
    assert [(a["action"], a["delay"]) for a in requested(ctx.state_dir)] == [("reboot", 5.0), ("poweroff", 0.0)]


def test_sleep_sets_the_wake_alarm_past_the_delay_then_powers_off(ctx: DeviceContext) -> None:
    before = time.time()
    got = power.sleep(ctx, interval=600, delay=30, confirm=True)
    assert [(a["action"], a.get("seconds", a.get("delay"))) for a in requested(ctx.state_dir)] == [
        ("wakealarm", 630), ("poweroff", 30.0)]
    wake = datetime.fromisoformat(got["wake_at"]).timestamp()
    assert before + 629 <= wake <= time.time() + 631
    assert got["interval"] == 600


def test_the_record_is_readable_from_another_process(ctx: DeviceContext) -> None:
    power.reboot(ctx, confirm=True)
    code = "import json,sys; from device_modules.power.sim import requested; from pathlib import Path; " \
           "print(json.dumps(requested(Path(sys.argv[1]))))"
    out = subprocess.run([sys.executable, "-c", code, str(ctx.state_dir)], capture_output=True, text=True, check=True)
    assert [a["action"] for a in json.loads(out.stdout)] == ["reboot"]


@pytest.mark.parametrize("call", [
    lambda c: power.reboot(c, confirm=True, delay=-1),
    lambda c: power.shutdown(c, confirm=True, delay=float("nan")),
    lambda c: power.reboot(c, confirm=True, delay=90000),
    lambda c: power.sleep(c, interval=0, confirm=True),
    lambda c: power.sleep(c, interval="1h", confirm=True),  # type: ignore[arg-type]
])
def test_nonsense_delays_are_refused_before_anything_happens(ctx: DeviceContext, call: Any) -> None:
    with pytest.raises(InvalidArguments):
        call(ctx)
    assert requested(ctx.state_dir) == []


def test_off_a_pi_auto_simulates_and_says_why(tmp_path: Path) -> None:
    ctx = DeviceContext(minion_id="x", state_dir=tmp_path, config={"power": {"root": str(tmp_path)}})
    got = power.available(ctx)
    assert (got.ok, got.backend) == (True, "sim")
    assert got.reason.startswith("not a Raspberry Pi (no /proc/device-tree/model); using the power simulator")


# --- the real backend, its helper a recording script ------------------------------------------------------------


def recorder(tmp_path: Path, body: str = "") -> tuple[Path, Path]:
    calls = tmp_path / "calls"
    script = tmp_path / "power-helper"
    script.write_text(f'#!/bin/sh\necho "$*" >> "{calls}"\n{body}\n')
    script.chmod(0o755)
    return script, calls


def real_ctx(tmp_path: Path, helper: list[str] | str, files: dict[str, str] = PI) -> DeviceContext:
    root = tree(tmp_path / "root", files)
    return DeviceContext(minion_id="car-1", hardware="real", state_dir=tmp_path / "state",
                         config={"power": {"root": str(root), "helper": helper}})


def test_the_helper_is_called_with_the_act(tmp_path: Path) -> None:
    script, calls = recorder(tmp_path)
    ctx = real_ctx(tmp_path, [str(script), "--as", "edgefleet"])
    assert power.reboot(ctx, confirm=True)["backend"] == "linux"
    power.shutdown(ctx, confirm=True)
    power.sleep(ctx, interval=90, confirm=True)
    assert calls.read_text().splitlines() == ["--as edgefleet reboot", "--as edgefleet poweroff",
                                              "--as edgefleet wakealarm 90", "--as edgefleet poweroff"]


def test_a_delayed_act_returns_at_once_and_happens_later(tmp_path: Path) -> None:
    script, calls = recorder(tmp_path)
    ctx = real_ctx(tmp_path, str(script))
    started = time.monotonic()
    power.reboot(ctx, confirm=True, delay=0.5)
    assert time.monotonic() - started < 0.4 and not calls.exists()
    deadline = time.monotonic() + 10
    while not calls.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert calls.read_text() == "reboot\n"
    assert time.monotonic() - started >= 0.5


def test_a_failing_helper_is_a_device_error_with_its_words(tmp_path: Path) -> None:
    script, _ = recorder(tmp_path, 'echo "sudo: a password is required" >&2\nexit 3')
    ctx = real_ctx(tmp_path, [str(script)])
    with pytest.raises(DeviceIOError, match="failed with exit 3: sudo: a password is required"):
        power.reboot(ctx, confirm=True)


def test_a_missing_helper_is_a_device_error(tmp_path: Path) -> None:
    ctx = real_ctx(tmp_path, [str(tmp_path / "nowhere" / "power-helper")])
    with pytest.raises(DeviceIOError, match="power helper not found"):
        power.shutdown(ctx, confirm=True, delay=5)


def test_sleep_refuses_a_board_without_an_rtc_wake_alarm(tmp_path: Path) -> None:
    script, calls = recorder(tmp_path)
    files = {k: v for k, v in PI.items() if "rtc" not in k}
    ctx = real_ctx(tmp_path, [str(script)], files)
    with pytest.raises(DeviceIOError, match=r"no RTC wake alarm \(/sys/class/rtc/rtc0/wakealarm is missing\)"):
        power.sleep(ctx, interval=60, confirm=True)
    assert not calls.exists()


def test_default_commands_and_a_helper_given_as_text() -> None:
    plain = HelperPower(None)
    assert [plain.command("reboot"), plain.command("poweroff"), plain.command("wakealarm", "60")] == [
        ["systemctl", "reboot"], ["systemctl", "poweroff"], ["rtcwake", "-m", "no", "-s", "60"]]
    ctx = DeviceContext(minion_id="x", hardware="real",
                        config={"power": {"helper": "sudo -n /usr/lib/edgefleet/power-helper"}})
    backend = power._backend(ctx)
    assert isinstance(backend, HelperPower)
    assert backend.command("reboot") == ["sudo", "-n", "/usr/lib/edgefleet/power-helper", "reboot"]


def test_a_malformed_helper_makes_the_module_unavailable() -> None:
    ctx = DeviceContext(minion_id="x", hardware="real", config={"power": {"helper": [1, 2]}})
    assert power.available(ctx) == Availability.no("config power.helper must be a command: a list of strings")


# --- sleep timers -----------------------------------------------------------------------------------------------


def test_timers_are_listed_added_and_cleared(ctx: DeviceContext) -> None:
    assert power.sleep_timer(ctx) == {}
    before = time.time()
    got = power.sleep_timer(ctx, add="ignition_off", period=600, reason="engine stopped")
    timer = got["ignition_off"]
    assert (timer["period"], timer["reason"], timer["due"]) == (600, "engine stopped", False)
    expires = datetime.fromisoformat(timer["expires"]).timestamp()
    assert before + 599 <= expires <= time.time() + 601
    power.sleep_timer(ctx, add="idle", period=1800)
    assert sorted(power.sleep_timer(ctx)) == ["idle", "ignition_off"]
    assert sorted(power.sleep_timer(ctx, clear="idle")) == ["ignition_off"]
    assert power.sleep_timer(ctx, clear="*") == {}


def test_a_due_timer_is_reported(ctx: DeviceContext) -> None:
    power.sleep_timer(ctx, add="now", period=0)
    power.sleep_timer(ctx, add="later", period=1800)
    listing = power.sleep_timer(ctx)
    assert (listing["now"]["due"], listing["later"]["due"]) == (True, False)
    assert list(power.due_timers(ctx, time.time())) == ["now"]
    assert list(power.due_timers(ctx, time.time() + 1801)) == ["later", "now"]


def test_timers_survive_the_process(ctx: DeviceContext, tmp_path: Path) -> None:
    power.sleep_timer(ctx, add="parked", period=60)
    again = DeviceContext(minion_id="car-1", state_dir=ctx.state_dir)
    assert list(power.sleep_timer(again)) == ["parked"]
    stored = json.loads((ctx.state_dir / "power_sleep_timers.json").read_text())
    assert stored["timers"]["parked"]["period"] == 60


@pytest.mark.parametrize("kwargs", [{"clear": "nosuch"}, {"add": "*"}, {"add": ""}, {"add": "x", "period": -5},
                                    {"add": "x", "reason": 5}])
def test_bad_timer_requests_are_refused(ctx: DeviceContext, kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidArguments):
        power.sleep_timer(ctx, **kwargs)
    assert power.sleep_timer(ctx) == {}


def test_a_corrupt_timer_file_is_a_device_error(ctx: DeviceContext) -> None:
    ctx.state_dir.mkdir(parents=True)
    (ctx.state_dir / "power_sleep_timers.json").write_text("{not json")
    with pytest.raises(DeviceIOError, match="cannot be read"):
        power.sleep_timer(ctx)


def test_supply_voltage_from_the_obd_simulator(tmp_path: Path) -> None:
    pytest.importorskip("device_modules.obd")
    ctx = DeviceContext(minion_id="car-1", hardware="sim", state_dir=tmp_path,
                        config={"obd": {}, "power": {"root": str(tmp_path)}})
    try:
        got = power.status(ctx)
    finally:
        ctx.resources.close()
    assert "supply_voltage" not in got["reasons"]
    assert isinstance(got["supply_voltage"], float) and 9 < got["supply_voltage"] < 16
