"""``obd.*`` as the minion runs it: config, backend choice, arguments, the shared handle, and licences."""

from __future__ import annotations

import ast
import inspect
import threading
from pathlib import Path
from typing import Any

import pytest

import device_modules.obd as obd
from device_modules.args import parse_cli_args
from device_modules.context import DeviceContext
from device_modules.errors import ConfirmationRequired, DeviceIOError, InvalidArguments
from device_modules.obd.errors import NegativeResponse, NoData
from device_modules.obd.session import RESOURCE, Session
from device_modules.obd.settings import settings_from
from device_modules.obd.sim import Simulator
from device_modules.outcome import execute
from device_modules.registry import Registry
from device_modules.spec import Availability

PACKAGE = Path(obd.__file__).parent


def sim_ctx(sim: Simulator | None = None, **config: Any) -> DeviceContext:
    ctx = DeviceContext("car-1", config={"obd": {"hardware": "sim", **config}})
    if sim is not None:
        ctx.resources.get(RESOURCE, lambda: Session(sim))
    return ctx


def test_available_says_which_backend_and_why(tmp_path: Path) -> None:
    missing = str(tmp_path / "serial0")
    auto = DeviceContext("car-1", config={"obd": {"port": missing}})
    assert obd.available(auto) == Availability(True, f"no adapter at {missing}; using the simulator", "sim")
    real = DeviceContext("car-1", hardware="real", config={"obd": {"port": missing}})
    assert obd.available(real) == Availability(True, f"no adapter at {missing} yet", "elm327")
    present = tmp_path / "ttyUSB0"
    present.touch()
    found = DeviceContext("car-1", config={"obd": {"port": str(present)}})
    assert obd.available(found) == Availability(True, "", "elm327")
    can = DeviceContext("car-1", hardware="real", config={"obd": {"can": {"interface": "virtual", "channel": "x"}}})
    assert obd.available(can).backend == "can"
    assert obd.available(sim_ctx()) == Availability(True, "simulated car (hardware: sim)", "sim")


@pytest.mark.parametrize(("section", "words"), [
    ({"prot": "6"}, "unknown obd setting(s) prot"),
    ({"backend": "stn"}, "obd:backend must be"),
    ({"protocol": "Z"}, "obd:protocol must be"),
    ({"can": "slcan"}, "obd:can must be a mapping"),
    ({"baudrate": "fast"}, "bad obd setting"),
])
def test_bad_config_makes_the_module_unavailable_with_the_reason(section: dict[str, Any], words: str) -> None:
    availability = obd.available(DeviceContext("car-1", config={"obd": section}))
    assert not availability.ok and words in availability.reason
    with pytest.raises(InvalidArguments, match=words.replace("(", r"\(").replace(")", r"\)")):
        settings_from(section)


def test_absent_adapter_is_an_error_return_not_a_traceback(tmp_path: Path) -> None:
    ctx = DeviceContext("car-1", hardware="real", config={"obd": {"port": str(tmp_path / "ttyNONE")}})
    outcome = execute(Registry(ctx, modules={"obd": "device_modules.obd"}, entry_points=False), "obd.query", ["RPM"])
    assert outcome.retcode == 1
    assert outcome.return_.startswith(f"ERROR: cannot open OBD adapter port {tmp_path / 'ttyNONE'}")
    assert "Traceback" not in outcome.return_
    status = obd.status(ctx)
    assert status["connection"] == "Not Connected" and "cannot open" in status["error"]


def test_cli_words_bind_to_the_signatures() -> None:
    sim = Simulator()
    sim.set_value("SPEED", 50)
    registry = Registry(sim_ctx(sim), modules={"obd": "device_modules.obd"}, entry_points=False)
    outcome = execute(registry, "obd.query", parse_cli_args(["my_speed", "mode=01", "pid=0D", "decoder=uint8",
                                                              "force=True"]))
    assert outcome.retcode == 0 and outcome.return_["value"] == 50
    many = execute(registry, "obd.query_many", parse_cli_args(["SPEED", "RPM"]))
    assert set(many.return_) == {"speed", "rpm"}
    refused = execute(registry, "obd.dtc", parse_cli_args(["clear=True"]))
    assert refused.retcode == 1 and "confirm=True" in refused.return_


def test_every_function_documents_a_cli_example() -> None:
    for name, fn in obd.MODULE.functions.items():
        assert "CLI Example::" in (inspect.getdoc(fn) or ""), name
        assert next(iter(inspect.signature(fn).parameters)) == "ctx"


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"name": "NOT_A_PID"}, "unknown OBD command 'NOT_A_PID'"),
    ({"name": "x", "pid": "0D", "decoder": "celsius"}, "unknown decoder 'celsius'"),
    ({"name": "x", "pid": "zz"}, "pid must be hex"),
    ({"name": "x", "mode": 300, "pid": 1}, "mode 300 is out of range"),
])
def test_query_arguments_are_checked_before_any_io(kwargs: dict[str, Any], words: str) -> None:
    sim = Simulator()
    sim.disconnect()  # any I/O would fail differently
    with pytest.raises(InvalidArguments, match=words):
        obd.query(sim_ctx(sim), **kwargs)


def test_pid_forms() -> None:
    sim = Simulator()
    sim.set_value("RPM", 1726)
    ctx = sim_ctx(sim)
    assert obd.query(ctx, "a", pid="0x0c")["value"] == "1AF8"
    assert obd.query(ctx, "b", pid="C")["value"] == "1AF8"
    assert obd.query(ctx, "c", pid="0C", mode=1)["value"] == "1AF8"
    assert obd.query(ctx, "d", pid=0, mode=1)["value"] == "9E3F8013"  # 01, 04-07 | 0B-10 | 11 | 1C, 1F, 20
    assert obd.query(ctx, "ELM_VOLTAGE")["unit"] == "volt"


def test_ecu_refusal_is_an_error_with_the_code() -> None:
    with pytest.raises(NegativeResponse, match="refused 220105: serviceNotSupported"):
        obd.query(sim_ctx(Simulator()), "soc", mode="22", pid="0105", header="7E0")


def test_salt_typed_numbers_are_read_as_the_hex_they_were_typed_as() -> None:
    # A stock Salt CLI YAML-loads mode=22 pid=0105 into the ints 22 and 105.
    with pytest.raises(NegativeResponse, match="refused 220105"):
        obd.query(sim_ctx(Simulator()), "soc", mode=22, pid=105, header="7E0")


def test_query_many_reports_failures_per_name() -> None:
    sim = Simulator()
    sim.set_value("SPEED", 30)
    results = obd.query_many(sim_ctx(sim), "SPEED", "FUEL_PRESSURE")
    assert results["speed"]["value"] == 30
    assert "not list PID 010A" in results["fuel_pressure"]["error"]
    with pytest.raises(InvalidArguments, match="NOPE"):
        obd.query_many(sim_ctx(sim), "SPEED", "NOPE")


def test_dtc_clear_without_confirm_sends_nothing() -> None:
    sim = Simulator(dtcs=["P0104"])
    ctx = sim_ctx(sim)
    with pytest.raises(ConfirmationRequired):
        obd.dtc(ctx, clear=True)
    assert [v["code"] for v in obd.dtc(ctx)["values"]] == ["P0104"]


@pytest.mark.parametrize(("volts", "level", "state"), [
    (14.2, 100, "charging"), (12.7, 100, "discharging"), (12.3, 56, "discharging"),
    (11.9, 11, "low"), (11.5, 0, "critical"),
])
def test_battery_level_and_state(volts: float, level: int, state: str) -> None:
    sim = Simulator()
    sim.set_value("BATTERY", volts)
    result = obd.battery(sim_ctx(sim))
    assert (result["voltage"], result["level"], result["state"]) == (volts, level, state)


def test_send_accepts_header_hash_data_and_refuses_at_commands() -> None:
    sim = Simulator()
    sim.set_value("SPEED", 50)
    ctx = sim_ctx(sim)
    assert obd.send(ctx, "7E0#010D") == ["7E803410D32"]
    assert obd.send(ctx, "01 0D") == ["7E803410D32"]
    with pytest.raises(InvalidArguments, match="hex bytes"):
        obd.send(ctx, "ATZ")


def test_protocol_argument() -> None:
    ctx = sim_ctx(Simulator())
    assert obd.protocol(ctx, set="auto")["auto"] is True
    with pytest.raises(InvalidArguments, match="unknown protocol 'Q'"):
        obd.protocol(ctx, set="Q")


def test_a_broken_port_drops_the_handle_and_the_next_call_reconnects() -> None:
    ctx = DeviceContext("car-1", config={"obd": {"hardware": "sim"}})
    obd.query(ctx, "SPEED")
    first: Session = ctx.resources.get(RESOURCE, lambda: pytest.fail("the handle should exist"))
    assert isinstance(first.backend, Simulator)
    first.backend.disconnect()
    with pytest.raises(DeviceIOError, match="disconnected"):
        obd.query(ctx, "SPEED")
    obd.query(ctx, "SPEED")  # a fresh simulator: reconnected
    second: Session = ctx.resources.get(RESOURCE, lambda: pytest.fail("the handle should exist"))
    assert second is not first and first.backend.status() == "Not Connected"


def test_vehicle_errors_keep_the_handle() -> None:
    ctx = sim_ctx()
    obd.query(ctx, "SPEED")
    first = ctx.resources.get(RESOURCE, lambda: None)
    with pytest.raises(DeviceIOError):
        obd.query(ctx, "FUEL_PRESSURE", force=True)
    assert ctx.resources.get(RESOURCE, lambda: None) is first


def test_calls_hold_the_obd_lock() -> None:
    ctx = sim_ctx(Simulator())
    finished = threading.Event()

    def other_job() -> None:
        obd.query(ctx, "SPEED")
        finished.set()

    with ctx.resources.lock(RESOURCE):
        thread = threading.Thread(target=other_job)
        thread.start()
        assert not finished.wait(0.3)  # waits for the lock held here
    assert finished.wait(5)
    thread.join()


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_product_code_never_imports_gpl_or_non_commercial_code() -> None:
    # python-OBD ("obd", GPL-2.0) and the ELM327-emulator ("elm", CC-BY-NC-SA) stay out of the product.
    for path in PACKAGE.glob("*.py"):
        assert not _imports(path) & {"obd", "elm"}, path.name


def test_can_and_isotp_are_imported_lazily() -> None:
    tree = ast.parse((PACKAGE / "can_backend.py").read_text())
    top_level = {alias.name for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)
                 for alias in node.names} | {node.module for node in tree.body
                                             if isinstance(node, ast.ImportFrom) and node.module}
    assert not top_level & {"can", "isotp"}



class SleepingCar(Simulator):
    """ECUs that do not answer while the adapter still measures the battery (ignition off)."""

    def query(self, mode: int, pid: bytes, header: str | None = None) -> list[Any]:
        raise NoData("NO DATA: the ECUs are asleep")


def test_status_of_a_car_that_is_off_but_plugged_in() -> None:
    assert obd.status(sim_ctx(SleepingCar()))["connection"] == "OBD Connected"
    assert obd.status(sim_ctx(Simulator()))["connection"] == "Car Connected"


def test_loading_and_checking_the_module_leaves_the_pid_tables_unloaded() -> None:
    """An idle minion loads every module to run available(); the PID tables wait for the first query."""
    import subprocess
    import sys

    code = ("import sys\nimport device_modules.obd as obd\nfrom device_modules.context import DeviceContext\n"
            "obd.available(DeviceContext('car-1', config={'obd': {'hardware': 'sim'}}))\n"
            "print('device_modules.obd.pids' in sys.modules, callable(obd.dtc))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"], out.stderr
