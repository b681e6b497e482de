"""Salt's argument conventions: yamlify_arg, key=value parsing, and splitting for a signature."""

from __future__ import annotations

import inspect
import json
import math
import subprocess
from pathlib import Path
from typing import Any

import pytest

from device_modules.args import parse_cli_args, parse_kwarg, split_args, yamlify_arg
from device_modules.context import DeviceContext
from device_modules.errors import InvalidArguments

SALT_PYTHON = Path(__file__).resolve().parents[2] / ".salt-venv" / "bin" / "python"

# (typed on the command line, what Salt's yamlify_arg makes of it)
YAMLIFY = [
    ("1", 1),
    ("-3", -3),
    ("+1", 1),
    ("1.5", 1.5),
    ("True", True),
    ("true", True),
    ("yes", True),  # YAML 1.1
    ("off", False),
    ("None", None),
    ("null", None),
    ("~", None),
    ("0755", 755),  # octal-looking digits are decimal
    ("00", 0),
    ("0x1F", 31),
    ("0b11", 3),
    ("0o17", "0o17"),
    ("12:30", 750),  # YAML 1.1 base 60
    (".inf", math.inf),
    ("1e3", "1e3"),
    ("1_000", "1_000"),  # digits and underscores stay text
    ("_", "_"),
    ("2024-01-01", "2024-01-01"),  # timestamps stay text
    ("[2024-01-01]", ["2024-01-01"]),
    ("{a: b}", {"a": "b"}),
    ("a: b", "a: b"),  # a mapping needs braces
    ("hello: ", "hello: "),
    ("{a: 1, a: 2}", "{a: 1, a: 2}"),  # repeated key: refused
    ("{a: [1, 2]}", {"a": [1, 2]}),
    ("[1, 2]", [1, 2]),
    ("1, 2", "1, 2"),  # a list needs brackets
    ("[a, {b: c}]", ["a", {"b": "c"}]),
    ("#", "#"),
    ("# hi", "# hi"),
    ("foo # bar", "foo # bar"),
    ("[a, b] # x", ["a", "b"]),  # with '#', anything that is not text is kept
    ("a: b # c", {"a": "b"}),
    ("!", "!"),
    ("|", "|"),
    ("'quoted'", "quoted"),
    ('"1"', "1"),
    ("a\tb", "a\tb"),
    ("line\nbreak", "line\nbreak"),
    ("", ""),
    ("   ", "   "),
    ("---", "---"),
    ("...", "..."),
    ("echo hi", "echo hi"),
    ("ls -l /tmp", "ls -l /tmp"),
    ("{bad", "{bad"),
    ("!!binary aGk=", "!!binary aGk="),
    ("!!python/name:os.system", "!!python/name:os.system"),
    ("&a x", "x"),
    ("*a", "*a"),
    ("'unterminated", "'unterminated"),
]


@pytest.mark.parametrize(("typed", "expected"), YAMLIFY, ids=[repr(t) for t, _ in YAMLIFY])
def test_yamlify_arg_follows_salt(typed: str, expected: Any) -> None:
    got = yamlify_arg(typed)
    assert got == expected
    assert type(got) is type(expected)


@pytest.mark.parametrize("value", [1, 2.5, None, True, [1, "2"], {"a": "1"}])
def test_yamlify_arg_leaves_non_strings_alone(value: Any) -> None:
    assert yamlify_arg(value) is value


@pytest.mark.parametrize(("word", "expected"), [
    ("a=1", ("a", "1")),
    ("cwd=/tmp", ("cwd", "/tmp")),
    ("a.b-c=x=y", ("a.b-c", "x=y")),
    ("empty=", ("empty", "")),
    ("_x=1", ("_x", "1")),
    ("a==b", None),
    ("1a=2", None),
    ("-a=1", None),
    ("echo a=b", None),
    ("=x", None),
    ("a=b\nc", None),
    ("plain", None),
])
def test_parse_kwarg(word: str, expected: tuple[str, str] | None) -> None:
    assert parse_kwarg(word) == expected


@pytest.mark.parametrize(("argv", "expected"), [
    ([], []),
    (["echo hi"], ["echo hi"]),
    (["1", "True"], ["1", "True"]),
    (["x=3"], [{"__kwarg__": True, "x": "3"}]),
    (["a", "x=3", "b", "y=[1]"], ["a", "b", {"__kwarg__": True, "x": "3", "y": "[1]"}]),
    (["x=1", "x=2"], [{"__kwarg__": True, "x": "2"}]),
    (["a==b"], ["a==b"]),
])
def test_parse_cli_args(argv: list[str], expected: list[Any]) -> None:
    assert parse_cli_args(argv) == expected


def anything(ctx: DeviceContext, *args: Any, **kwargs: Any) -> None: ...


def echo(ctx: DeviceContext, text: str) -> None: ...


def sleep(ctx: DeviceContext, length: float) -> None: ...


def run(ctx: DeviceContext, cmd: str, cwd: str | None = None, *, timeout: float | None = None) -> None: ...


def items(ctx: DeviceContext, *keys: str, default: Any = "") -> None: ...


def no_ctx(a: int, b: str = "") -> None: ...


KW = "__kwarg__"

SPLIT = [
    (anything, ["1", "two", {KW: True, "x": "3", "flag": "True"}], [1, "two"], {"x": 3, "flag": True}),
    (anything, ["x=3", "[1, 2]"], [[1, 2]], {"x": 3}),
    (anything, [{"a": 1}], [{"a": 1}], {}),  # a dict without __kwarg__ is positional
    (anything, [{KW: False, "a": 1}], [{KW: False, "a": 1}], {}),
    (anything, [5, None, [1]], [5, None, [1]], {}),  # typed values pass through
    (echo, ["1"], ["1"], {}),  # a str parameter keeps the text
    (echo, ["True"], ["True"], {}),
    (echo, [{KW: True, "text": "1"}], [], {"text": "1"}),
    (echo, [1], [1], {}),  # already typed by a stock Salt CLI: left for the registry
    (sleep, ["2.5"], [2.5], {}),
    (sleep, ["length=3"], [], {"length": 3}),
    (run, ["true", "None"], ["true", None], {}),  # str | None: only "None" is None
    (run, ["ls", "/tmp", {KW: True, "timeout": "5"}], ["ls", "/tmp"], {"timeout": 5}),
    (run, ["ls", "a", "b"], ["ls", "a", "b"], {}),  # too many: binding reports it
    (items, ["os", "1", {KW: True, "default": "0"}], ["os", "1"], {"default": 0}),
    (no_ctx, ["1", "2"], [1, "2"], {}),
]


@pytest.mark.parametrize(("fn", "arg_list", "args", "kwargs"), SPLIT)
def test_split_args(fn: Any, arg_list: list[Any], args: list[Any], kwargs: dict[str, Any]) -> None:
    assert split_args(fn, arg_list) == (args, kwargs)


def test_split_args_accepts_a_signature_with_string_annotations() -> None:
    sig = inspect.Signature([
        inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        inspect.Parameter("name", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation="str"),
        inspect.Parameter("count", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation="int"),
    ])
    assert split_args(sig, ["007", "007"]) == (["007", 7], {})


@pytest.mark.parametrize(("fn", "arg_list", "message"), [
    (echo, [{KW: True, "txt": "hi"}], "The following keyword arguments are not valid: txt=hi"),
    (echo, ["FOO=bar ls"], "The following keyword arguments are not valid: FOO=bar ls"),
    (run, ["ls", {KW: True, "a": 1, "b": 2}], "The following keyword arguments are not valid: a=1, b=2"),
])
def test_unknown_keywords_are_refused_like_salt(fn: Any, arg_list: list[Any], message: str) -> None:
    with pytest.raises(InvalidArguments) as info:
        split_args(fn, arg_list)
    assert str(info.value) == message


# ---- parity with the real Salt (tools/setup builds .salt-venv) -----------------------

ORACLE = """
import json, sys
from salt.utils.args import yamlify_arg, parse_input
from salt.minion import load_args_and_kwargs
cases = json.load(sys.stdin)

def anything(*args, **kwargs):
    pass

def named(a, b=None):
    pass

out = {"yamlify": [yamlify_arg(c) for c in cases["yamlify"]], "split": []}
for fname, argv in cases["split"]:
    fn = {"anything": anything, "named": named}[fname]
    out["split"].append(list(load_args_and_kwargs(fn, parse_input(argv), ignore_invalid=True)))
print(json.dumps(out, default=repr))
"""


def named(ctx: DeviceContext, a: Any, b: Any = None) -> None: ...


SPLIT_PARITY = [
    ("anything", ["1", "two", "x=3", "flag=True", "l=[1, 2]", "{a: b}", "a: b"]),
    ("anything", ["0755", "None", "yes", "d={k: v}", "e=", "2024-01-01"]),
    ("named", ["1", "b=[x]"]),
    ("named", ["a=~", "b=off"]),
]


@pytest.mark.salt
@pytest.mark.skipif(not SALT_PYTHON.exists(), reason="no .salt-venv (tools/setup makes it)")
def test_same_conversions_as_real_salt() -> None:
    cases = {"yamlify": [t for t, _ in YAMLIFY], "split": SPLIT_PARITY}
    proc = subprocess.run([str(SALT_PYTHON), "-c", ORACLE], input=json.dumps(cases),
                          capture_output=True, text=True, timeout=120, check=True)
    salt = json.loads(proc.stdout)
    ours = json.loads(json.dumps([yamlify_arg(t) for t, _ in YAMLIFY], default=repr))
    assert ours == salt["yamlify"]
    fns = {"anything": anything, "named": named}
    for (fname, argv), expected in zip(SPLIT_PARITY, salt["split"], strict=True):
        assert list(split_args(fns[fname], parse_cli_args(argv))) == expected, argv
