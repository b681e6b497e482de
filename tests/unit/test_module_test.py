"""``test.*`` through the registry, and the Salt return shapes :func:`execute` gives."""

from __future__ import annotations

import importlib.metadata
import threading
import time
from typing import Any

import pytest

import edge_minion
from device_modules import test as test_module
from device_modules.context import DeviceContext
from device_modules.errors import DeviceTimeout
from device_modules.outcome import Outcome, WithRetcode, execute
from device_modules.registry import Registry
from device_modules.spec import ModuleSpec


@pytest.fixture
def registry() -> Registry:
    return Registry(DeviceContext(minion_id="pi-1"), {"test": "device_modules.test"}, entry_points=False)


def run(registry: Registry, fun: str, *arg: Any) -> Outcome:
    return execute(registry, fun, list(arg))


def test_ping(registry: Registry) -> None:
    assert run(registry, "test.ping") == Outcome(True, 0, True, None)


@pytest.mark.parametrize(("arg", "expected"), [
    ("hi", "hi"),
    ("1", "1"),  # text stays text for a str parameter
    ("True", "True"),
    (7, "7"),  # a stock Salt CLI sends 7 for "7"
])
def test_echo(registry: Registry, arg: Any, expected: str) -> None:
    assert run(registry, "test.echo", arg).return_ == expected


def test_sleep_returns_true_after_sleeping(registry: Registry) -> None:
    started = time.monotonic()
    assert run(registry, "test.sleep", "0.3") == Outcome(True, 0, True, None)
    assert time.monotonic() - started >= 0.3


def test_sleep_does_not_block_other_jobs(registry: Registry) -> None:
    done: list[Outcome] = []
    sleepers = [threading.Thread(target=lambda: done.append(run(registry, "test.sleep", "1"))) for _ in range(3)]
    started = time.monotonic()
    for t in sleepers:
        t.start()
    assert run(registry, "test.ping").return_ is True
    assert time.monotonic() - started < 0.5, "a ping waited for a sleep"
    for t in sleepers:
        t.join()
    assert time.monotonic() - started < 2.0, "sleeps ran one after another"
    assert [o.return_ for o in done] == [True] * 3


def test_sleep_refuses_a_negative_length(registry: Registry) -> None:
    out = run(registry, "test.sleep", "-1")
    assert (out.retcode, out.success, out.out) == (1, False, "nested")
    assert out.return_ == ("Passed invalid arguments to test.sleep: length must not be negative, got -1\n"
                           "Usage: test.sleep(length: float)")


def test_version_is_the_installed_edgefleet(registry: Registry) -> None:
    assert run(registry, "test.version").return_ == edge_minion.__version__
    assert edge_minion.__version__ == importlib.metadata.version("edgefleet")


def test_versions_information_and_report(registry: Registry) -> None:
    info = run(registry, "test.versions_information").return_
    assert info["Edgefleet Version"] == {"Edgefleet": edge_minion.__version__}
    assert info["Dependency Versions"]["PyYAML"] == importlib.metadata.version("PyYAML")
    assert set(info["System Versions"]) == {"Python", "kernel", "machine", "system"}
    report = run(registry, "test.versions_report").return_
    assert report.startswith("Edgefleet Version:\n") and f"PyYAML: {info['Dependency Versions']['PyYAML']}" in report


def test_arg_shows_what_arrived_like_salt(registry: Registry) -> None:
    got = run(registry, "test.arg", "1", "two", "'3'", {"__kwarg__": True, "x": "3", "flag": "True", "l": "[1]"})
    assert got.return_ == {"args": [1, "two", "3"], "kwargs": {"x": 3, "flag": True, "l": [1]}}


def test_exception_is_returned_with_its_traceback(registry: Registry, caplog: pytest.LogCaptureFixture) -> None:
    out = run(registry, "test.exception", "kaboom")
    assert (out.retcode, out.success, out.out) == (1, False, "nested")
    assert out.return_.startswith("The minion function caused an exception: Traceback (most recent call last):\n")
    assert out.return_.rstrip().endswith("RuntimeError: kaboom")
    assert "in exception" in out.return_ and "outcome.py" not in out.return_
    assert "kaboom" in caplog.text


@pytest.mark.parametrize(("code", "success"), [("0", True), ("3", False), ("42", False)])
def test_retcode_sets_the_jobs_retcode(registry: Registry, code: str, success: bool) -> None:
    assert run(registry, "test.retcode", code) == Outcome(True, int(code), success, None)


@pytest.mark.parametrize(("num", "value"), [("0", 0), ("1", 1), ("2", 1), ("10", 55), ("50", 12586269025)])
def test_fib(registry: Registry, num: str, value: int) -> None:
    got, seconds = run(registry, "test.fib", num).return_
    assert got == value and 0 <= seconds < 1


def test_unknown_function_has_salts_exact_shape(registry: Registry) -> None:
    assert run(registry, "test.nosuch") == Outcome("'test.nosuch' is not available.", 1, False, "nested")
    assert run(registry, "nosuch.fn") == Outcome("'nosuch.fn' is not available.", 1, False, "nested")


def test_invalid_arguments_shape(registry: Registry) -> None:
    out = run(registry, "test.fib", "x")
    assert (out.retcode, out.success, out.out) == (1, False, "nested")
    assert out.return_ == ("Passed invalid arguments to test.fib: argument 'num' must be int, got str 'x'\n"
                           "Usage: test.fib(num: int)")
    out = run(registry, "test.echo", "a", "b")
    assert out.return_ == ("Passed invalid arguments to test.echo: too many positional arguments\n"
                           "Usage: test.echo(text: str)")
    out = run(registry, "test.ping", {"__kwarg__": True, "verbose": "1"})
    assert out.return_ == ("Passed invalid arguments to test.ping: The following keyword arguments are "
                           "not valid: verbose=1\nUsage: test.ping()")


def test_device_errors_and_retcodes_from_other_modules() -> None:
    def slow(ctx: DeviceContext) -> None:
        raise DeviceTimeout("ECU did not answer in 2 s")

    def partial(ctx: DeviceContext) -> WithRetcode[str]:
        return WithRetcode("half done", 2)

    spec = ModuleSpec(name="obd", functions={"slow": slow, "partial": partial})
    registry = Registry(DeviceContext(minion_id="pi-1"), {"obd": spec}, entry_points=False)
    assert run(registry, "obd.slow") == Outcome("ERROR: ECU did not answer in 2 s", 1, False, "nested")
    assert run(registry, "obd.partial") == Outcome("half done", 2, False, None)


def test_every_function_documents_a_cli_example() -> None:
    for name, fn in test_module.MODULE.functions.items():
        assert fn.__doc__ and "CLI Example:" in fn.__doc__, name
