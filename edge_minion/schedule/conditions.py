"""Conditions on device values that gate a schedule entry ("only while the engine runs").

An entry's ``condition`` is one mapping or a list of them; every one must hold::

    condition:
      function: obd.query        # any device function (``fun`` is accepted too)
      args: [RPM]                # optional positional arguments
      kwargs: {}                 # optional keyword arguments
      key: value                 # optional dotted path into the result: dict keys, list indexes
      above: 0                   # one test (below); none at all means "truthy: true"

Tests: ``equals``, ``not_equals``, ``above``, ``at_least``, ``below``, ``at_most``
(numbers only), ``in`` (a list), ``truthy`` (true/false).

The check runs just before each run. When the function fails, the key is missing
or the values cannot be compared, the run is skipped and the failure is logged and
counted (``condition_errors``); it is never fatal. A condition that is simply false
skips the run and counts ``condition_false``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from edge_minion.schedule.errors import ConditionError, InvalidEntry

__all__ = ["TESTS", "Call", "Condition", "check", "parse_conditions"]

#: ``call(function, args, kwargs) -> return value``; raises on failure.
Call = Callable[[str, list[Any], dict[str, Any]], Any]

TESTS = ("equals", "not_equals", "above", "at_least", "below", "at_most", "in", "truthy")
_KEYS = {"function", "fun", "args", "kwargs", "key", *TESTS}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Condition:
    function: str
    test: str
    operand: Any
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    key: str | None = None

    def holds(self, result: Any) -> bool:
        """Apply the test to a function result.

        Raises:
            ConditionError: the key is missing or the values cannot be compared.
        """
        value = self._pick(result)
        op = self.operand
        if self.test == "equals":
            return bool(value == op)
        if self.test == "not_equals":
            return bool(value != op)
        if self.test == "in":
            return value in op
        if self.test == "truthy":
            return bool(value) is bool(op)
        if not _number(value):
            raise ConditionError(f"{self.describe()}: got {value!r}, not a number")
        if self.test == "above":
            return bool(value > op)
        if self.test == "at_least":
            return bool(value >= op)
        if self.test == "below":
            return bool(value < op)
        return bool(value <= op)

    def _pick(self, result: Any) -> Any:
        value = result
        for part in self.key.split(".") if self.key else ():
            if isinstance(value, Mapping) and part in value:
                value = value[part]
            elif isinstance(value, Sequence) and not isinstance(value, str) and part.lstrip("-").isdigit() \
                    and -len(value) <= int(part) < len(value):
                value = value[int(part)]
            else:
                raise ConditionError(f"{self.describe()}: no {part!r} in the result {result!r}")
        return value

    def describe(self) -> str:
        call = " ".join([self.function, *map(str, self.args)])
        where = f"[{self.key}]" if self.key else ""
        return f"{call}{where} {self.test} {self.operand!r}"

    def to_mapping(self) -> dict[str, Any]:
        data: dict[str, Any] = {"function": self.function}
        if self.args:
            data["args"] = list(self.args)
        if self.kwargs:
            data["kwargs"] = dict(self.kwargs)
        if self.key:
            data["key"] = self.key
        data[self.test] = self.operand
        return data


def _parse_one(entry: str, data: Any) -> Condition:
    if not isinstance(data, Mapping):
        raise InvalidEntry(f"schedule entry {entry!r}: condition must be a mapping, not {data!r}")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise InvalidEntry(f"schedule entry {entry!r}: unknown condition key(s) {unknown}; "
                           f"use function, args, kwargs, key and one of {', '.join(TESTS)}")
    function = data.get("function", data.get("fun"))
    if not isinstance(function, str) or "." not in function:
        raise InvalidEntry(f"schedule entry {entry!r}: condition needs function: module.function")
    tests = [t for t in TESTS if t in data]
    if len(tests) > 1:
        raise InvalidEntry(f"schedule entry {entry!r}: a condition takes one test, got {tests}")
    test = tests[0] if tests else "truthy"
    operand = data.get(test, True)
    if test in ("above", "at_least", "below", "at_most") and not _number(operand):
        raise InvalidEntry(f"schedule entry {entry!r}: condition {test} needs a number, not {operand!r}")
    if test == "in" and (not isinstance(operand, Sequence) or isinstance(operand, str)):
        raise InvalidEntry(f"schedule entry {entry!r}: condition in needs a list, not {operand!r}")
    args = data.get("args") or []
    kwargs = data.get("kwargs") or {}
    if not isinstance(args, list | tuple) or not isinstance(kwargs, Mapping):
        raise InvalidEntry(f"schedule entry {entry!r}: condition args must be a list and kwargs a mapping")
    key = data.get("key")
    if key is not None and not isinstance(key, str | int):
        raise InvalidEntry(f"schedule entry {entry!r}: condition key must be a dotted path")
    return Condition(function, test, list(operand) if test == "in" else operand, tuple(args), dict(kwargs),
                     None if key is None else str(key))


def parse_conditions(entry: str, data: Any) -> tuple[Condition, ...]:
    """The conditions of entry ``entry`` from its ``condition`` value (None: no condition).

    Raises:
        InvalidEntry: the value does not follow the syntax above.
    """
    if data is None:
        return ()
    items = data if isinstance(data, list | tuple) else [data]
    return tuple(_parse_one(entry, item) for item in items)


def check(conditions: Sequence[Condition], call: Call) -> bool:
    """True when every condition holds (checked in order, stopping at the first false one).

    Raises:
        ConditionError: a function failed or its result could not be tested; the cause is kept.
    """
    for cond in conditions:
        try:
            result = call(cond.function, list(cond.args), dict(cond.kwargs))
        except ConditionError:
            raise
        except Exception as exc:
            raise ConditionError(f"{cond.describe()}: {cond.function} failed: {exc}") from exc
        if not cond.holds(result):
            return False
    return True
