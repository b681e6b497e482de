"""``fleet-call`` as a real process, and the outputters it shares with the other CLIs."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from edge_minion.output import format_output

ROOT = Path(__file__).resolve().parents[2]
FLEET_CALL = Path(sys.executable).parent / "fleet-call"
SALT_PYTHON = ROOT / ".salt-venv" / "bin" / "python"

Call = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def call(tmp_path: Path) -> Call:
    state = tmp_path / "state"

    def call(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        assert FLEET_CALL.exists(), "run `.venv/bin/pip install -e .` to create the console script"
        return subprocess.run([str(FLEET_CALL), "--state-dir", str(state), "--id", "pi-test", *argv],
                              capture_output=True, text=True, timeout=60,
                              env={**os.environ, **(env or {})})

    return call


def test_ping_as_json(call: Call) -> None:
    proc = call("test.ping", "--out", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"local": True}
    assert proc.stdout.startswith('{\n    "local": true')


def test_ping_nested_by_default_without_colour_in_a_pipe(call: Call) -> None:
    proc = call("test.ping")
    assert (proc.returncode, proc.stdout) == (0, "local:\n    True\n")


def test_run_all(call: Call) -> None:
    proc = call("cmd.run_all", "echo hi", "--out", "json")
    assert proc.returncode == 0, proc.stderr
    ret = json.loads(proc.stdout)["local"]
    assert (ret["stdout"], ret["stderr"], ret["retcode"]) == ("hi", "", 0) and ret["pid"] > 0


def test_a_failing_command_gives_its_status(call: Call) -> None:
    proc = call("cmd.run", "echo bad; exit 3")
    assert (proc.returncode, proc.stdout) == (3, "local:\n    bad\n")


def test_unknown_function_fails_with_salts_message(call: Call) -> None:
    proc = call("nosuch.fn")
    assert proc.returncode == 1
    assert proc.stdout == "local:\n    'nosuch.fn' is not available.\n"


def test_invalid_arguments_fail_with_usage(call: Call) -> None:
    proc = call("test.sleep", "soon")
    assert proc.returncode == 1
    assert proc.stdout == ("local:\n    Passed invalid arguments to test.sleep: argument 'length' must be float, "
                           "got str 'soon'\n    Usage: test.sleep(length: float)\n")


def test_arguments_are_read_like_salt_and_options_may_follow(call: Call) -> None:
    proc = call("test.arg", "1", "two", "x=3", "l=[a]", "--out", "json")
    assert json.loads(proc.stdout) == {"local": {"args": [1, "two"], "kwargs": {"x": 3, "l": ["a"]}}}
    proc = call("--out", "json", "test.echo", "--", "-5")
    assert json.loads(proc.stdout) == {"local": "-5"}


def test_retcode_passes_through(call: Call) -> None:
    proc = call("test.retcode", "5")
    assert (proc.returncode, proc.stdout) == (5, "local:\n    True\n")


def test_grains_persist_between_calls(call: Call, tmp_path: Path) -> None:
    assert call("grains.setval", "role", "gateway").returncode == 0
    proc = call("grains.get", "role")
    assert (proc.returncode, proc.stdout) == (0, "local:\n    gateway\n")
    assert "role: gateway" in (tmp_path / "state" / "grains.yaml").read_text()
    proc = call("grains.item", "id", "role", "--out", "json")
    assert json.loads(proc.stdout) == {"local": {"id": "pi-test", "role": "gateway"}}


def test_config_file_and_flags(tmp_path: Path) -> None:
    config = tmp_path / "minion.yaml"
    config.write_text(f"id: from-file\nstate_dir: {tmp_path / 'st'}\ntest:\n  anything: 1\n")
    proc = subprocess.run([str(FLEET_CALL), "-c", str(config), "grains.get", "id"],
                          capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout) == (0, "local:\n    from-file\n"), proc.stderr
    proc = subprocess.run([str(FLEET_CALL), "-c", str(config), "--id", "flag-wins", "grains.get", "id"],
                          capture_output=True, text=True, timeout=60)
    assert proc.stdout == "local:\n    flag-wins\n"


def test_bad_config_is_a_usage_error(tmp_path: Path) -> None:
    config = tmp_path / "minion.yaml"
    config.write_text("no_such_option: 1\n")
    proc = subprocess.run([str(FLEET_CALL), "-c", str(config), "test.ping"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith("fleet-call: error:") and "no_such_option" in proc.stderr
    assert proc.stdout == ""


def test_unavailable_modules_are_reported_not_fatal(call: Call) -> None:
    proc = call("sys.list_unavailable", "--out", "json")
    assert proc.returncode == 0, proc.stderr
    for name, reason in json.loads(proc.stdout)["local"].items():
        assert name in ("gpio", "serial", "obd", "can", "power", "schedule") and reason


@pytest.mark.parametrize(("env", "coloured"), [({}, True), ({"NO_COLOR": "1"}, False)])
def test_colour_only_on_a_terminal_without_no_color(tmp_path: Path, env: dict[str, str], coloured: bool) -> None:
    leader, follower = pty.openpty()
    environ = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    try:
        proc = subprocess.run([str(FLEET_CALL), "--state-dir", str(tmp_path), "test.ping"], stdout=follower,
                              stderr=subprocess.PIPE, timeout=60, env={**environ, **env})
        os.close(follower)
        output = _read_all(leader)
    finally:
        os.close(leader)
    assert proc.returncode == 0
    assert ("\x1b[" in output) is coloured
    assert "local" in output and "True" in output


def _read_all(fd: int) -> str:
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the writer closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode()


# ---- the outputters ------------------------------------------------------------------------

DATA: dict[str, Any] = {
    "pi-1": {
        "list": [1, {"b": None, "a": [True]}, [2, "x"], "multi\nline"],
        "text": "two\nlines",
        "empty_map": {},
        "empty_list": [],
        "empty_text": "",
        "number": 1.5,
        "flag": False,
        "nested": {"z": {"y": "deep"}},
    },
    "pi-2": "not available",
}


def test_json_yaml_raw() -> None:
    assert json.loads(format_output(DATA, "json")) == DATA
    assert format_output({"a": 1}, "json") == '{\n    "a": 1\n}'
    assert yaml.safe_load(format_output(DATA, "yaml")) == DATA
    assert format_output({"a": [1]}, "yaml") == "a:\n- 1"
    assert format_output({"a": 1}, "raw") == "{'a': 1}"
    assert format_output({"a": object()}, "json").startswith('{\n    "a": "<object object')


def test_txt() -> None:
    assert format_output({"pi-1": "a\nb", "pi-2": 3, "pi-3": ""}, "txt") == "pi-1: a\npi-1: b\npi-2: 3"
    assert format_output("plain", "txt") == "plain"
    assert format_output([1, 2], "txt") == "[1, 2]"


def test_nested_shape() -> None:
    assert format_output({"local": {"pid": 1, "out": "hi"}}, color=False) == (
        "local:\n    ----------\n    out:\n        hi\n    pid:\n        1")
    assert format_output({"local": ["a", {"k": "v"}]}, color=False) == (
        "local:\n    - a\n    |_\n      ----------\n      k:\n          v")


def test_nested_colours_and_escapes() -> None:
    coloured = format_output({"k": "v\x1b[2J", "n": 1}, color=True)
    assert "\x1b[0;36mk\x1b[0m:" in coloured and "\x1b[0;32mv?[2J\x1b[0m" in coloured
    assert "\x1b[1;33m1\x1b[0m" in coloured
    assert "\x1b[0;31mk\x1b[0m:" in format_output({"k": "v"}, color=True, retcode=1)
    assert "\x1b" not in format_output({"k": "v\x1b"}, color=False)


def test_unknown_outputter() -> None:
    with pytest.raises(ValueError, match="unknown outputter 'pretty'"):
        format_output({}, "pretty")


SALT_OUTPUT = """
import json, sys
import salt.output.nested as nested, salt.output.txt as txt
nested.__opts__ = {"color": False}
data = json.load(sys.stdin)
print(json.dumps({"nested": nested.output(data), "txt": txt.output({k: v for k, v in data.items()
                                                                      if isinstance(v, str)})}))
"""


@pytest.mark.salt
@pytest.mark.skipif(not SALT_PYTHON.exists(), reason="no .salt-venv (tools/setup makes it)")
def test_nested_and_txt_match_real_salt() -> None:
    proc = subprocess.run([str(SALT_PYTHON), "-c", SALT_OUTPUT], input=json.dumps(DATA),
                          capture_output=True, text=True, timeout=120, check=True)
    salt = json.loads(proc.stdout)
    assert format_output(DATA, "nested", color=False) == salt["nested"]
    assert format_output({"pi-2": DATA["pi-2"]}, "txt") + "\n" == salt["txt"]
