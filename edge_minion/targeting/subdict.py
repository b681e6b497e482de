"""Salt's ``subdict_match``: does ``key:sub:value`` match nested grains (or pillar)?

Semantics, as in ``salt/utils/data.py``:

* ``role:car`` is split at the delimiter; the deepest key is tried first, so
  ``a:b:c`` looks for ``data['a']['b'] ~ 'c'`` before ``data['a'] ~ 'b:c'``.
* Keys walk dicts and lists (a numeric key indexes a list; other keys look
  inside the dicts a list holds); a missing key is retried YAML-loaded, so
  ``8080`` reaches an integer key.
* Values compare as ``str(value).lower()`` against the lower-cased pattern:
  a glob (grain, pillar), a regex anchored at the start (grain_pcre,
  pillar_pcre) or plain equality (pillar_exact). A list matches when any
  element does.
* When the key leads to a dict, the pattern may name one of its keys (exactly,
  then as a glob/regex), ``*`` asks only that the key exists, and a pattern
  starting ``*:`` searches every value below; deeper matching inside that dict
  always uses ``:`` whatever the outer delimiter.

Compiled once per expression: the key paths are pre-split and each pattern
compiled on first use, so a matcher can be run over many minions cheaply.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Callable, Mapping
from typing import Any, Literal

from edge_minion.targeting.scalars import yaml_scalar

__all__ = ["Mode", "SubdictMatcher", "regex_error"]

Mode = Literal["glob", "pcre", "exact"]
_Plan = tuple[tuple[tuple[str, ...] | None, str], ...]
_MISSING: Any = object()
_MEMO_LIMIT = 4096


def regex_error(expr: str, delimiter: str) -> tuple[int, str] | None:
    """(offset, message) when no value pattern that ``expr`` can yield compiles as a regex, else None.

    Any split point may end up in use, so one good candidate is enough; ``*``
    alone is meaningful (the key exists). Patterns are checked lower-cased,
    as Salt applies them.
    """
    splits = expr.split(delimiter)
    first: tuple[int, str] | None = None
    for idx in range(1, len(splits)):
        candidate = delimiter.join(splits[idx:])
        if candidate == "*":
            return None
        try:
            re.compile(candidate.lower())
        except re.error as exc:
            if first is None:
                first = (len(delimiter.join(splits[:idx])) + len(delimiter), str(exc))
        else:
            return None
    return first


class SubdictMatcher:
    """Callable ``matcher(data) -> bool`` for one ``key<delim>...<delim>pattern`` expression."""

    __slots__ = ("delimiter", "expr", "mode", "_memos", "_plans", "_tests", "_top")

    def __init__(self, expr: str, delimiter: str = ":", mode: Mode = "glob") -> None:
        self.expr = expr
        self.delimiter = delimiter
        self.mode = mode
        self._plans: dict[tuple[str, str], _Plan] = {}
        self._tests: dict[str, Callable[[str], object]] = {}
        # pattern -> {raw string value -> verdict}: fleets repeat the same few values endlessly
        self._memos: dict[str, dict[str, bool]] = {}
        self._top = self._plan(expr, delimiter)

    def __call__(self, data: Mapping[str, Any]) -> bool:
        return self._subdict(data, self._top)

    def __repr__(self) -> str:
        return f"SubdictMatcher({self.expr!r}, {self.delimiter!r}, {self.mode!r})"

    @property
    def simple_key(self) -> str | None:
        """The key when the expression is just ``key<delim>pattern``: then a string value alone decides."""
        if len(self._top) == 1 and self._top[0][0] is not None and len(self._top[0][0]) == 1:
            return self._top[0][0][0]
        return None

    def value_verdict(self, value: str) -> bool:
        """For a ``simple_key`` expression: does a string value found under the key match?"""
        return self._match(value, self._top[0][1])

    def value_memo(self) -> dict[str, bool]:
        """The verdicts ``value_verdict`` remembers (string value -> verdict); read-only for callers."""
        pattern = self._top[0][1]
        if pattern not in self._memos:
            self._match("", pattern)
        return self._memos[pattern]

    def _plan(self, expr: str, delimiter: str) -> _Plan:
        plan = self._plans.get((expr, delimiter))
        if plan is None:
            splits = expr.split(delimiter)
            steps: list[tuple[tuple[str, ...] | None, str]] = []
            for idx in range(len(splits) - 1, 0, -1):
                parts = tuple(splits[:idx])
                if parts == ("*",):
                    steps.append((None, expr))  # '*' stands for the whole mapping, matched against all of expr
                else:
                    steps.append((parts, delimiter.join(splits[idx:])))
            plan = self._plans[(expr, delimiter)] = tuple(steps)
        return plan

    def _subdict(self, data: Any, plan: _Plan) -> bool:
        for parts, pattern in plan:
            found = data if parts is None else _traverse(data, parts)
            if type(found) is str:  # the common case: a scalar grain
                if self._match(found, pattern):
                    return True
                continue
            if found is _MISSING or (isinstance(found, Mapping) and not found):
                continue
            if isinstance(found, Mapping):
                if self._dict_match(found, pattern):
                    return True
            elif isinstance(found, (list, tuple)):
                for member in found:
                    if isinstance(member, Mapping) and self._dict_match(member, pattern):
                        return True
                    if self._match(member, pattern):
                        return True
            elif self._match(found, pattern):
                return True
        return False

    def _dict_match(self, target: Mapping[Any, Any], pattern: str) -> bool:
        wildcard = pattern.startswith("*:")
        if wildcard:
            pattern = pattern[2:]
        if pattern == "*" or pattern in target:
            return True
        if any(self._match(key, pattern) for key in target):
            return True
        if self._subdict(target, self._plan(pattern, ":")):
            return True
        if wildcard:
            for value in target.values():
                if isinstance(value, Mapping):
                    if self._dict_match(value, pattern):
                        return True
                elif isinstance(value, list):
                    if any(self._match(item, pattern) for item in value):
                        return True
                elif self._match(value, pattern):
                    return True
        return False

    def _match(self, value: Any, pattern: str) -> bool:
        memo = self._memos.get(pattern)
        if memo is None:  # the test goes in first: a memo present means its test is there (threads)
            self._tests[pattern] = _compile(pattern.lower(), self.mode)
            memo = self._memos.setdefault(pattern, {})
        if type(value) is not str:
            return bool(self._tests[pattern](str(value).lower()))
        hit = memo.get(value)
        if hit is None:
            hit = bool(self._tests[pattern](value.lower()))
            if len(memo) < _MEMO_LIMIT:
                memo[value] = hit
        return hit


def _compile(pattern: str, mode: Mode) -> Callable[[str], object]:
    if mode == "exact":
        return pattern.__eq__
    if mode == "glob":
        return re.compile(fnmatch.translate(pattern)).match
    try:
        return re.compile(pattern).match
    except re.error:
        return _never  # Salt logs the bad regex and treats it as no match


def _never(text: str) -> bool:
    return False


def _traverse(data: Any, parts: tuple[str, ...]) -> Any:
    """``data[part0][part1]...`` the way Salt's ``traverse_dict_and_list`` walks it, or ``_MISSING``."""
    ptr = data
    for part in parts:
        if type(ptr) is dict:  # fast path; a plain dict has no __missing__, so get() is ptr[part]
            found = ptr.get(part, _MISSING)
            if found is not _MISSING:
                ptr = found
                continue
        if isinstance(ptr, list):
            ptr = _step_into_list(ptr, part)
            if ptr is _MISSING:
                return _MISSING
            continue
        try:
            ptr = ptr[part]
        except KeyError:
            loaded = _yaml_key(part)
            if loaded == part:
                return _MISSING
            try:
                ptr = ptr[loaded]
            except (KeyError, TypeError):
                return _MISSING
        except TypeError:
            return _MISSING
    return ptr


@functools.lru_cache(maxsize=1024)
def _yaml_key(part: str) -> object:
    return yaml_scalar(part)


def _step_into_list(items: list[Any], part: str) -> Any:
    try:
        index: int | str = int(part)
    except ValueError:
        index = part
    for embedded in items:
        if isinstance(embedded, Mapping):
            try:
                return embedded[index]
            except KeyError:
                pass
    if isinstance(index, str):
        return _MISSING
    try:
        return items[index]
    except IndexError:
        return _MISSING
