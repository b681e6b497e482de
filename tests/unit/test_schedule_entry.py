"""Entry validation (Salt's schedule syntax) and conditions on device values."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from edge_minion.schedule.conditions import check, parse_conditions
from edge_minion.schedule.entry import parse_entry
from edge_minion.schedule.errors import ConditionError, InvalidEntry


def test_salt_style_entry_from_yaml() -> None:
    data = yaml.safe_load("""
    function: obd.query
    job_args: [SPEED]
    job_kwargs: {mode: "01"}
    seconds: 30
    minutes: 1
    splay: {start: 1, end: 3}
    maxrunning: 2
    until: 2027-01-01 00:00:00
    """)
    e = parse_entry("log_speed", data, tz=UTC)
    assert (e.function, e.args, dict(e.kwargs)) == ("obd.query", ("SPEED",), {"mode": "01"})
    assert e.kind == "interval" and e.interval == 90
    assert e.splay == (1, 3) and e.maxrunning == 2 and e.catch_up and e.enabled and not e.run_on_start
    assert e.until == datetime(2027, 1, 1, tzinfo=UTC).timestamp()
    assert e.to_mapping() == {"function": "obd.query", "args": ["SPEED"], "kwargs": {"mode": "01"}, "seconds": 30,
                              "minutes": 1, "splay": {"start": 1, "end": 3}, "maxrunning": 2,
                              "until": "2027-01-01T00:00:00+00:00"}
    assert parse_entry("log_speed", e.to_mapping(), tz=UTC) == e  # the stored form reads back the same


def test_cron_and_once_entries() -> None:
    assert parse_entry("c", {"function": "test.ping", "cron": "@daily"}).kind == "cron"
    once = parse_entry("o", {"function": "test.ping", "once": "23/11/2026 10:00", "once_fmt": "%d/%m/%Y %H:%M"},
                       tz=UTC)
    assert once.kind == "once" and once.once == datetime(2026, 11, 23, 10, tzinfo=UTC).timestamp()
    assert once.to_mapping()["once"] == "2026-11-23T10:00:00+00:00" and "once_fmt" not in once.to_mapping()


@pytest.mark.parametrize(("data", "message"), [
    ({"seconds": 5}, "function must be module.function"),
    ({"function": "ping", "seconds": 5}, "function must be module.function"),
    ({"function": "test.ping"}, "exactly one of"),
    ({"function": "test.ping", "seconds": 5, "cron": "* * * * *"}, "exactly one of"),
    ({"function": "test.ping", "seconds": 0.5}, "at least 1 s"),
    ({"function": "test.ping", "seconds": -1}, "number >= 0"),
    ({"function": "test.ping", "seconds": "5"}, "number >= 0"),
    ({"function": "test.ping", "cron": "* * *"}, "needs 5 fields"),
    ({"function": "test.ping", "once": "tomorrow"}, "once"),
    ({"function": "test.ping", "once": "2026-01-01T00:00", "run_on_start": True}, "not once"),
    ({"function": "test.ping", "seconds": 5, "args": "SPEED"}, "args must be a list"),
    ({"function": "test.ping", "seconds": 5, "kwargs": [1]}, "kwargs must be a mapping"),
    ({"function": "test.ping", "seconds": 5, "maxrunning": 0}, "maxrunning"),
    ({"function": "test.ping", "seconds": 5, "enabled": "yes"}, "true or false"),
    ({"function": "test.ping", "seconds": 5, "splay": {"start": 5, "end": 1}}, "before its start"),
    ({"function": "test.ping", "seconds": 5, "after": "2027-01-01", "until": "2026-01-01"}, "later than after"),
    ({"function": "test.ping", "seconds": 5, "when": "Monday 5:00pm"}, "not supported"),
    ({"function": "test.ping", "seconds": 5, "sconds": 5}, "unknown key"),
    ({"function": "test.ping", "seconds": 5, "args": [1], "job_args": [2]}, "both args and job_args"),
    ({"function": "test.ping", "seconds": 5, "name": "other"}, "its name key says"),
])
def test_invalid_entries_name_entry_and_key(data: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidEntry, match=message) as info:
        parse_entry("job1", data)
    assert "job1" in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("name", ["", "a/b", " x", 7])
def test_bad_names(name: Any) -> None:
    with pytest.raises(InvalidEntry):
        parse_entry(name, {"function": "test.ping", "seconds": 5})


def _call(results: dict[str, Any]) -> Any:
    def call(fun: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        key = " ".join([fun, *map(str, args)])
        if key not in results:
            raise RuntimeError(f"no ECU answer for {key}")
        return results[key]

    return call


def test_engine_running_condition() -> None:
    conds = parse_conditions("log", {"function": "obd.query", "args": ["RPM"], "key": "value", "above": 0})
    assert check(conds, _call({"obd.query RPM": {"value": 812.5, "unit": "rpm"}})) is True
    assert check(conds, _call({"obd.query RPM": {"value": 0, "unit": "rpm"}})) is False


def test_all_conditions_must_hold_and_tests_cover_the_syntax() -> None:
    conds = parse_conditions("log", [
        {"fun": "power.status", "key": "external_power", "equals": True},
        {"function": "power.status", "key": "battery.level", "at_least": 20},
        {"function": "power.status", "key": "state", "in": ["on", "charging"]},
        {"function": "power.status", "key": "faults.0", "not_equals": "overheat"},
        {"function": "power.status", "key": "ok"},
    ])
    status = {"external_power": True, "battery": {"level": 20}, "state": "on", "faults": ["none"], "ok": 1}
    assert check(conds, _call({"power.status": status})) is True
    assert check(conds, _call({"power.status": {**status, "external_power": False}})) is False
    assert check(conds, _call({"power.status": {**status, "battery": {"level": 19.9}}})) is False


@pytest.mark.parametrize(("result", "message"), [
    ({"unit": "rpm"}, "no 'value'"),
    ({"value": "NO DATA"}, "not a number"),
])
def test_unusable_results_raise_condition_error(result: Any, message: str) -> None:
    conds = parse_conditions("log", {"function": "obd.query", "args": ["RPM"], "key": "value", "above": 0})
    with pytest.raises(ConditionError, match=message):
        check(conds, _call({"obd.query RPM": result}))


def test_failing_function_raises_condition_error_with_cause() -> None:
    conds = parse_conditions("log", {"function": "obd.query", "args": ["RPM"], "above": 0})
    with pytest.raises(ConditionError, match="obd.query failed") as info:
        check(conds, _call({}))
    assert isinstance(info.value.__cause__, RuntimeError)


@pytest.mark.parametrize(("data", "message"), [
    ("obd.query RPM > 0", "must be a mapping"),
    ({"args": ["RPM"], "above": 0}, "needs function"),
    ({"function": "obd.query", "above": 0, "below": 9}, "one test"),
    ({"function": "obd.query", "above": "0"}, "needs a number"),
    ({"function": "obd.query", "in": "abc"}, "needs a list"),
    ({"function": "obd.query", "greater": 1}, "unknown condition key"),
])
def test_invalid_conditions(data: Any, message: str) -> None:
    with pytest.raises(InvalidEntry, match=message):
        parse_entry("e", {"function": "test.ping", "seconds": 5, "condition": data})


def test_condition_is_stored_in_canonical_form() -> None:
    e = parse_entry("e", {"function": "test.ping", "seconds": 5,
                          "condition": {"fun": "obd.query", "args": ["RPM"], "key": "value", "above": 0}})
    assert e.to_mapping()["condition"] == [{"function": "obd.query", "args": ["RPM"], "key": "value", "above": 0}]
    assert e.conditions[0].describe() == "obd.query RPM[value] above 0"
