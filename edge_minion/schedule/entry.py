"""One schedule entry: what to run, when, and under which options; validated once.

The syntax follows Salt's ``schedule:`` (minion config, ``schedule.add``)::

    schedule:
      log_speed:
        function: obd.query
        args: [SPEED]              # or job_args
        kwargs: {}                 # or job_kwargs
        seconds: 2                 # interval: seconds / minutes / hours / days (summed)
      # cron: "*/5 * * * *"        # or a 5-field cron expression (device local time)
      # once: "2026-05-01T10:00:00"   # or one run at an ISO time (once_fmt: a strptime format)
        splay: 5                   # random delay 0-5 s per run, or {start: 2, end: 5}
        run_on_start: false        # run as soon as the minion starts
        maxrunning: 1              # skip a run while this many of the entry still run
        after: "2026-01-01T00:00:00"    # no runs before this time
        until: "2026-12-31T00:00:00"    # no runs after this time
        enabled: true
        catch_up: true             # after downtime or sleep: one run on wake (false: none)
        condition: {function: obd.query, args: [RPM], key: value, above: 0}

Times without an offset are device local time, as in Salt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from edge_minion.cron import Cron, CronError
from edge_minion.schedule.conditions import Condition, parse_conditions
from edge_minion.schedule.errors import InvalidEntry

__all__ = ["MIN_INTERVAL", "Entry", "parse_entry"]

#: The shortest interval accepted, in seconds.
MIN_INTERVAL = 1.0
_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
_ALIASES = {"job_args": "args", "job_kwargs": "kwargs", "fun": "function"}
_KEYS = {"name", "function", "args", "kwargs", *_UNITS, "cron", "once", "once_fmt", "splay", "run_on_start",
         "maxrunning", "until", "after", "enabled", "catch_up", "condition", *_ALIASES}
_SALT_ONLY = {"when", "range", "skip_during_range", "skip_explicit", "run_explicit", "returner", "return_job",
              "return_config", "return_kwargs", "jid_include", "metadata", "persist"}


@dataclass(frozen=True)
class Entry:
    name: str
    function: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    every: Mapping[str, float] = field(default_factory=dict)  # {"seconds": 2} as given
    cron: Cron | None = None
    once: float | None = None  # epoch seconds
    splay: tuple[float, float] | None = None
    run_on_start: bool = False
    maxrunning: int = 1
    after: float | None = None
    until: float | None = None
    enabled: bool = True
    catch_up: bool = True
    conditions: tuple[Condition, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)  # the validated mapping

    @property
    def interval(self) -> float | None:
        """Seconds between runs for an interval entry, else None."""
        if not self.every:
            return None
        return float(sum(_UNITS[unit] * value for unit, value in self.every.items()))

    @property
    def kind(self) -> str:
        return "interval" if self.every else "cron" if self.cron is not None else "once"

    def to_mapping(self) -> dict[str, Any]:
        """The entry as it is stored and listed (canonical key names)."""
        return dict(self.raw)


def _time(name: str, key: str, value: Any, tz: tzinfo | None, fmt: str | None = None) -> tuple[float, str]:
    try:
        if isinstance(value, datetime):
            when = value
        elif isinstance(value, str) and fmt:
            when = datetime.strptime(value, fmt)
        elif isinstance(value, str):
            when = datetime.fromisoformat(value)
        else:
            raise TypeError(f"expected an ISO time string, got {type(value).__name__}")
    except (TypeError, ValueError) as exc:
        raise InvalidEntry(f"schedule entry {name!r}: {key}: {exc}") from exc
    if when.tzinfo is None and tz is not None:
        when = when.replace(tzinfo=tz)
    return when.timestamp(), when.isoformat()


def _bool(name: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidEntry(f"schedule entry {name!r}: {key} must be true or false, not {value!r}")
    return value


def _number(name: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise InvalidEntry(f"schedule entry {name!r}: {key} must be a number >= 0, not {value!r}")
    return float(value)


def _splay(name: str, value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        start = _number(name, "splay start", value.get("start", 0))
        end = _number(name, "splay end", value.get("end", start))
    else:
        start, end = 0.0, _number(name, "splay", value)
    if end < start:
        raise InvalidEntry(f"schedule entry {name!r}: splay end {end} is before its start {start}")
    return (start, end) if end > 0 else None


def _canonical(name: str, data: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise InvalidEntry(f"schedule entry {name!r} must be a mapping, not {type(data).__name__}")
    salt_only = sorted(set(data) & _SALT_ONLY)
    if salt_only:
        raise InvalidEntry(f"schedule entry {name!r}: {', '.join(salt_only)} not supported by edgefleet "
                           "(use seconds/minutes/hours/days, cron or once; condition for device state)")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise InvalidEntry(f"schedule entry {name!r}: unknown key(s) {unknown}; known: {sorted(_KEYS)}")
    raw: dict[str, Any] = {}
    for key, value in data.items():
        canon = _ALIASES.get(key, key)
        if canon in raw:
            raise InvalidEntry(f"schedule entry {name!r}: both {canon} and {key} given")
        if key != "name":
            raw[canon] = value
    if "name" in data and data["name"] != name:
        raise InvalidEntry(f"schedule entry {name!r}: its name key says {data['name']!r}")
    return raw


def parse_entry(name: str, data: Mapping[str, Any], tz: tzinfo | None = None) -> Entry:
    """Validate the mapping of entry ``name``; ``tz`` is the zone of times without an offset
    (None: the device's local zone).

    Raises:
        InvalidEntry: anything wrong, with the entry and the key named.
    """
    if not isinstance(name, str) or not name or "/" in name or name.strip() != name:
        raise InvalidEntry(f"bad schedule entry name {name!r}")
    raw = _canonical(name, data)
    function = raw.get("function")
    if not isinstance(function, str) or "." not in function:
        raise InvalidEntry(f"schedule entry {name!r}: function must be module.function, not {function!r}")
    args = raw.get("args") if raw.get("args") is not None else []
    kwargs = raw.get("kwargs") if raw.get("kwargs") is not None else {}
    if not isinstance(args, list | tuple):
        raise InvalidEntry(f"schedule entry {name!r}: args must be a list, not {args!r}")
    if not isinstance(kwargs, Mapping) or not all(isinstance(k, str) for k in kwargs):
        raise InvalidEntry(f"schedule entry {name!r}: kwargs must be a mapping of names, not {kwargs!r}")
    every = {unit: _number(name, unit, raw[unit]) for unit in _UNITS if raw.get(unit) is not None}
    kinds = [k for k, present in (("interval", bool(every)), ("cron", raw.get("cron") is not None),
                                  ("once", raw.get("once") is not None)) if present]
    if len(kinds) != 1:
        raise InvalidEntry(f"schedule entry {name!r} needs exactly one of an interval (seconds, minutes, "
                           f"hours, days), cron or once; got {kinds or 'none'}")
    if every and sum(_UNITS[u] * v for u, v in every.items()) < MIN_INTERVAL:
        raise InvalidEntry(f"schedule entry {name!r}: the interval must be at least {MIN_INTERVAL:g} s")
    cron = None
    if raw.get("cron") is not None:
        try:
            cron = Cron.parse(raw["cron"])
        except CronError as exc:
            raise InvalidEntry(f"schedule entry {name!r}: {exc}") from exc
    once = None
    if raw.get("once") is not None:
        once, raw["once"] = _time(name, "once", raw["once"], tz, raw.get("once_fmt"))
        raw.pop("once_fmt", None)
    elif "once_fmt" in raw:
        raise InvalidEntry(f"schedule entry {name!r}: once_fmt without once")
    bounds: dict[str, float | None] = {}
    for key in ("after", "until"):
        bounds[key] = None
        if raw.get(key) is not None:
            bounds[key], raw[key] = _time(name, key, raw[key], tz)
    if bounds["after"] is not None and bounds["until"] is not None and bounds["until"] <= bounds["after"]:
        raise InvalidEntry(f"schedule entry {name!r}: until must be later than after")
    if once is not None and raw.get("run_on_start"):
        raise InvalidEntry(f"schedule entry {name!r}: run_on_start applies to interval and cron entries, not once")
    maxrunning = raw.get("maxrunning", 1)
    if isinstance(maxrunning, bool) or not isinstance(maxrunning, int) or maxrunning < 1:
        raise InvalidEntry(f"schedule entry {name!r}: maxrunning must be an integer >= 1, not {maxrunning!r}")
    flags = {key: _bool(name, key, raw.get(key, default))
             for key, default in (("run_on_start", False), ("enabled", True), ("catch_up", True))}
    conditions: tuple[Condition, ...] = parse_conditions(name, raw.get("condition"))
    if conditions:
        raw["condition"] = [c.to_mapping() for c in conditions]
    raw = {k: (list(v) if isinstance(v, tuple) else v) for k, v in raw.items() if v is not None}
    return Entry(name=name, function=function, args=tuple(args), kwargs=dict(kwargs), every=every, cron=cron,
                 once=once, splay=_splay(name, raw.get("splay")), maxrunning=maxrunning,
                 after=bounds["after"], until=bounds["until"], conditions=conditions, raw=raw, **flags)
