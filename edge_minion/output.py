"""Printing returns the way Salt's outputters do, for every CLI (``fleet``, ``fleet-call``...).

``nested``  Salt's default: keys with a colon, values indented four spaces,
            ``----------`` before each nested mapping, ``- `` before list items and
            ``|_`` before nested containers; colour only on a terminal without ``NO_COLOR``.
``json``    indented four spaces; objects JSON cannot hold are shown by ``repr``.
``yaml``    block style (``yaml.safe_dump``).
``txt``     ``key: line`` for each line of each top-level value (good for ``cmd.run``).
``raw``     Python's ``str`` of the data.
"""

from __future__ import annotations

import json
import os
import pprint
import sys
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Number
from typing import Any

import yaml

__all__ = ["OUTPUTTERS", "format_output", "use_color"]

OUTPUTTERS = ("nested", "json", "yaml", "txt", "raw")


def use_color() -> bool:
    """Colour when stdout is a terminal and ``NO_COLOR`` is unset or empty."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def format_output(data: Any, out: str = "nested", *, color: bool | None = None, retcode: int = 0) -> str:
    """``data`` rendered by the outputter ``out``, without a trailing newline.

    ``color`` forces colour on or off for ``nested`` (default: :func:`use_color`);
    a non-zero ``retcode`` draws keys in red, as Salt does for failed returns.

    Raises:
        ValueError: ``out`` is not one of :data:`OUTPUTTERS`.
    """
    if out == "nested":
        palette = _COLORS if (use_color() if color is None else color) else _PLAIN
        return "\n".join(_Nested(palette, retcode).display(data, 0, "", []))
    if out == "json":
        return json.dumps(data, indent=4, default=repr)
    if out == "yaml":
        try:
            return str(yaml.safe_dump(data, default_flow_style=False, allow_unicode=True)).rstrip("\n")
        except yaml.YAMLError:
            return pprint.pformat(data)
    if out == "txt":
        return _txt(data)
    if out == "raw":
        return str(data)
    raise ValueError(f"unknown outputter {out!r} (choose from {', '.join(OUTPUTTERS)})")


@dataclass(frozen=True)
class _Palette:
    green: str
    yellow: str
    cyan: str
    red: str
    end: str


_COLORS = _Palette("\033[0;32m", "\033[1;33m", "\033[0;36m", "\033[0;31m", "\033[0m")
_PLAIN = _Palette("", "", "", "", "")


class _Nested:
    def __init__(self, palette: _Palette, retcode: int) -> None:
        self.p = palette
        self.key_color = palette.red if retcode else palette.cyan
        self.list_color = palette.red if retcode else palette.green

    def line(self, indent: int, color: str, msg: Any, prefix: str = "", suffix: str = "") -> str:
        return f"{' ' * indent}{color}{prefix}{msg}{self.p.end}{suffix}"

    def display(self, data: Any, indent: int, prefix: str, out: list[str]) -> list[str]:
        if isinstance(data, bytes | bytearray):
            try:
                data = bytes(data).decode("utf-8")
            except UnicodeDecodeError:
                pass
        if data is None or isinstance(data, bool):
            out.append(self.line(indent, self.p.yellow, data, prefix))
        elif isinstance(data, Number):
            out.append(self.line(indent, self.p.yellow, repr(data), prefix))
        elif isinstance(data, str):
            for i, text in enumerate(data.splitlines()):
                # An escape character from a device must not drive the operator's terminal.
                shown = text.replace("\x1b", "?")
                out.append(self.line(indent, self.p.green, shown, prefix if i == 0 else " " * len(prefix)))
        elif isinstance(data, list | tuple):
            for item in data:
                if isinstance(item, list | tuple | Mapping):
                    out.append(self.line(indent, self.list_color, "|_"))
                    self.display(item, indent + 2, "" if isinstance(item, Mapping) else "- ", out)
                else:
                    self.display(item, indent, "- ", out)
        elif isinstance(data, Mapping):
            if indent:
                out.append(self.line(indent, self.key_color, "----------"))
            for key, value in _ordered(data):
                out.append(self.line(indent, self.key_color, key, prefix, ":"))
                self.display(value, indent + 4, "", out)
        else:
            out.append(self.line(indent, self.p.green, data, prefix))
        return out


def _ordered(data: Mapping[Any, Any]) -> list[tuple[Any, Any]]:
    if isinstance(data, OrderedDict):
        return list(data.items())
    try:
        return sorted(data.items(), key=lambda kv: kv[0])
    except TypeError:  # mixed key types: compare as text
        return sorted(((str(k), v) for k, v in data.items()), key=lambda kv: kv[0])


def _txt(data: Any) -> str:
    if isinstance(data, Mapping):
        lines: list[str] = []
        for key, value in data.items():
            if isinstance(value, str):
                lines.extend(f"{key}: {line}" for line in value.splitlines())
            else:
                lines.append(f"{key}: {value}")
        return "\n".join(lines)
    if isinstance(data, str):
        return data
    return pprint.pformat(data)
