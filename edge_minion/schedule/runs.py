"""A scheduled run on the wire: its jid, its publish load and the fields of its return.

Each run gets a jid of its own, in Salt's format with Salt's ``_<n>`` suffix:
``<%Y%m%d%H%M%S%f of the device's wall clock, UTC>_<seq>``. ``seq`` counts every
run the device ever started (persisted before the run starts), so the jid is
unique on the device even when the wall clock steps back; the master keeps the
first return per (jid, minion id), so a return sent twice is stored once. The
time part is what ``fleet-run jobs.list_jobs`` shows as StartTime.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from edge_minion.jobs import Runner
from edge_minion.schedule.conditions import Call
from edge_minion.schedule.due import Due
from edge_minion.schedule.errors import ConditionError

__all__ = ["META_KEY", "finish_return", "run_jid", "run_load", "runner_call", "salt_args", "utc_iso"]

#: Where a run's schedule data travels in the publish load (Salt copies ``metadata`` into the return).
META_KEY = "_schedule"

def utc_iso(wall: float) -> str:
    """``wall`` (epoch seconds) as naive UTC ISO text, the form of Salt's ``_stamp``."""
    return datetime.fromtimestamp(wall, UTC).replace(tzinfo=None).isoformat()


def run_jid(wall: float, seq: int) -> str:
    return f"{datetime.fromtimestamp(wall, UTC):%Y%m%d%H%M%S%f}_{seq}"


def salt_args(args: Sequence[Any], kwargs: Mapping[str, Any]) -> list[Any]:
    """Positional arguments plus Salt's ``{"__kwarg__": True, ...}`` for keyword ones."""
    out = list(args)
    if kwargs:
        out.append({"__kwarg__": True, **kwargs})
    return out


def run_load(minion_id: str, jid: str, seq: int, run: Due, wall: float) -> dict[str, Any]:
    """The publish load the job runner gets for one scheduled run."""
    entry = run.entry
    return {
        "jid": jid, "fun": entry.function, "arg": salt_args(entry.args, entry.kwargs),
        "tgt": minion_id, "tgt_type": "glob", "user": "schedule",
        "metadata": {META_KEY: {"name": run.name, "seq": seq, "time": utc_iso(wall), "reason": run.reason}},
    }


def finish_return(load: dict[str, Any]) -> dict[str, Any]:
    """Give a scheduled run's return Salt's ``schedule`` field and the run's start as ``_stamp``;
    other returns pass unchanged."""
    meta = load.get("metadata")
    info = meta.get(META_KEY) if isinstance(meta, Mapping) else None
    if isinstance(info, Mapping):
        load["schedule"] = info.get("name")
        load["_stamp"] = info.get("time", load.get("_stamp"))
    return load


def runner_call(runner: Runner) -> Call:
    """A condition ``call`` on top of the job runner's ``runner``; an error return raises."""

    def call(fun: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        ret, retcode, success, _ = runner(fun, salt_args(args, kwargs))
        if not success or retcode:
            raise ConditionError(f"{fun} returned an error: {ret}")
        return ret

    return call
