"""``cmd.*`` with real subprocesses, through the registry and :func:`execute`."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from device_modules import cmd
from device_modules.context import DeviceContext
from device_modules.errors import DeviceError, DeviceTimeout, InvalidArguments
from device_modules.outcome import Outcome, WithRetcode, execute
from device_modules.registry import Registry

KW = "__kwarg__"


@pytest.fixture
def ctx() -> DeviceContext:
    return DeviceContext(minion_id="pi-1")


@pytest.fixture
def registry(ctx: DeviceContext) -> Registry:
    return Registry(ctx, {"cmd": "device_modules.cmd"}, entry_points=False)


def run(registry: Registry, fun: str, *arg: Any) -> Outcome:
    return execute(registry, fun, list(arg))


def test_run_returns_output_with_stderr_merged(registry: Registry) -> None:
    assert run(registry, "cmd.run", "echo out; echo err >&2") == Outcome("out\nerr", 0, True, None)


def test_run_strips_trailing_whitespace_only(registry: Registry) -> None:
    assert run(registry, "cmd.run", "printf '  a  \\n\\n'").return_ == "  a"


def test_run_sets_the_jobs_retcode_from_the_command(registry: Registry) -> None:
    assert run(registry, "cmd.run", "echo no; exit 3") == Outcome("no", 3, False, None)
    assert run(registry, "cmd.run", "exit 3", {KW: True, "ignore_retcode": "True"}) == Outcome("", 0, True, None)


def test_run_all_keeps_streams_apart(registry: Registry) -> None:
    out = run(registry, "cmd.run_all", "echo hi; echo oops >&2; exit 1")
    assert (out.retcode, out.success) == (1, False)
    assert set(out.return_) == {"pid", "retcode", "stdout", "stderr"}
    assert out.return_["stdout"] == "hi" and out.return_["stderr"] == "oops" and out.return_["retcode"] == 1
    assert isinstance(out.return_["pid"], int) and out.return_["pid"] != os.getpid()


def test_retcode_returns_the_status(registry: Registry) -> None:
    assert run(registry, "cmd.retcode", "true") == Outcome(0, 0, True, None)
    assert run(registry, "cmd.retcode", "exit 7") == Outcome(7, 7, False, None)


def test_shell_runs_pipelines(registry: Registry) -> None:
    assert run(registry, "cmd.shell", "printf 'b\\na\\n' | sort | head -n 1").return_ == "a"


def test_a_bare_word_like_true_is_a_command_not_a_bool(registry: Registry) -> None:
    assert run(registry, "cmd.run", "true") == Outcome("", 0, True, None)


def test_without_a_shell_words_are_not_interpreted(registry: Registry) -> None:
    got = run(registry, "cmd.run", "printf '%s|' 'a b' $HOME", {KW: True, "python_shell": "False"})
    assert got.return_ == "a b|$HOME|"


def test_env_cwd_and_stdin(registry: Registry, tmp_path: Path) -> None:
    assert run(registry, "cmd.run", "echo $GREETING-$N", {KW: True, "env": "{GREETING: hi, N: 2}"}).return_ == "hi-2"
    assert run(registry, "cmd.run", "pwd", str(tmp_path)).return_ == str(tmp_path.resolve())
    assert run(registry, "cmd.run", "tr a-z A-Z", {KW: True, "stdin": "quiet"}).return_ == "QUIET"


def test_missing_cwd_is_a_clear_error(registry: Registry, tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    out = run(registry, "cmd.run", "ls", str(missing))
    assert (out.retcode, out.success, out.out) == (1, False, "nested")
    assert out.return_.startswith(f"Passed invalid arguments to cmd.run: cwd '{missing}' is not an existing "
                                  "absolute directory\nUsage: cmd.run(cmd: str")
    assert "is not an existing absolute directory" in run(registry, "cmd.run", "ls", "relative").return_


def test_timeout_kills_the_whole_process_group(ctx: DeviceContext, tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    started = time.monotonic()
    with pytest.raises(DeviceTimeout) as info:
        cmd.run(ctx, f"sleep 30 & echo $! > {pidfile}; wait", timeout=0.5)
    assert time.monotonic() - started < 10
    assert "timed out after 0.5 s and was killed" in str(info.value)
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the background child of the shell survived the timeout"


def test_timeout_through_execute_is_an_error_return(registry: Registry) -> None:
    out = run(registry, "cmd.run", "sleep 10", {KW: True, "timeout": "0.2"})
    assert (out.retcode, out.success, out.out) == (1, False, "nested")
    assert out.return_.startswith("ERROR: command 'sleep 10' timed out after 0.2 s and was killed (process group ")


def test_a_program_that_does_not_exist(ctx: DeviceContext, registry: Registry) -> None:
    with pytest.raises(DeviceError, match="unable to run 'no-such-program-xyz'"):
        cmd.run(ctx, "no-such-program-xyz", python_shell=False)
    assert run(registry, "cmd.retcode", "no-such-program-xyz").return_ == 127  # the shell's answer


def test_bad_quoting_without_a_shell(ctx: DeviceContext) -> None:
    with pytest.raises(InvalidArguments, match="cannot split"):
        cmd.run(ctx, "echo 'unterminated", python_shell=False)


def test_undecodable_output_is_replaced_not_fatal(registry: Registry) -> None:
    assert run(registry, "cmd.run", "printf 'a\\377b'").return_ == "a\ufffdb"


def test_functions_return_retcode_wrappers(ctx: DeviceContext) -> None:
    assert cmd.run(ctx, "exit 4") == WithRetcode("", 4)
    assert cmd.shell(ctx, "echo x") == WithRetcode("x", 0)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")
