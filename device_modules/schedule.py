"""``schedule.*``: manage the jobs the device runs by itself, with or without a master.

Salt's ``schedule`` module, on edgefleet's scheduler. The functions work on
``ctx.extra["scheduler"]``: inside the minion that is the live scheduler (a
change applies at once); under ``fleet-call`` it is the schedule stored on the
device, which a running minion follows within a second.

Entry syntax (the same keys under ``schedule:`` in the minion config file)::

    schedule:
      log_speed:
        function: obd.query            # what to run
        args: [SPEED]                  # job_args on the command line
        kwargs: {}                     # job_kwargs on the command line
        seconds: 2                     # or minutes / hours / days (summed), or
      # cron: "*/5 * * * *"            #   a 5-field cron expression (device local time), or
      # once: "2026-05-01T10:00:00"    #   one run at an ISO time (once_fmt: a strptime format)
        splay: 5                       # random delay 0-5 s per run, or {start: 2, end: 5}
        run_on_start: false            # also run when the minion starts
        maxrunning: 1                  # skip a run while this many of the entry still run
        after: "2026-01-01T00:00:00"   # no runs before
        until: "2026-12-31T00:00:00"   # no runs after
        enabled: true
        catch_up: true                 # after downtime or sleep: one run on wake; false: none
        condition:                     # run only while this holds (a list: all must hold)
          function: obd.query          # any device function
          args: [RPM]
          key: value                   # dotted path into its result (dict keys, list indexes)
          above: 0                     # one of equals, not_equals, above, at_least, below,
                                       # at_most (numbers), in (a list), truthy (true/false)

"Engine running" is ``condition: {function: obd.query, args: [RPM], key: value, above: 0}``;
"on external power" (a car's alternator charging) is
``condition: {function: power.status, key: supply_voltage, above: 13.0}``. A
condition whose function fails, whose key is missing or whose value cannot be
compared (``supply_voltage`` is null without an ``obd:`` section) skips the run
and is logged and counted (``condition_errors`` in ``schedule.list``); it never
stops the schedule. Intervals run on the monotonic boot clock, so wall-clock steps
(NTP after a boot with a stale date) do not move them.

Each run's result goes to the master like a job's return, with a jid of its own
(``<device time>_<run number>``) and the device's run time in ``_stamp``, and
waits in the outbox while the link is down.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Protocol

from device_modules.context import DeviceContext
from device_modules.errors import DeviceError, InvalidArguments
from device_modules.spec import Availability, ModuleSpec

__all__ = ["MODULE", "ScheduleControl"]


class ScheduleControl(Protocol):
    """What ``ctx.extra["scheduler"]`` offers. Errors derive from ValueError (invalid entry),
    KeyError (unknown entry), PermissionError (config-file entry) or OSError (storage)."""

    def add(self, name: str, data: Mapping[str, Any]) -> dict[str, Any]: ...

    def modify(self, name: str, changes: Mapping[str, Any],
               remove: Collection[str] = ()) -> tuple[dict[str, Any], dict[str, Any]]: ...

    def delete(self, name: str) -> dict[str, Any]: ...

    def enable_job(self, name: str) -> dict[str, Any]: ...

    def disable_job(self, name: str) -> dict[str, Any]: ...

    def enable(self) -> None: ...

    def disable(self) -> None: ...

    def run_job(self, name: str, force: bool = False) -> str | None: ...

    def listing(self) -> dict[str, Any]: ...


def _control(ctx: DeviceContext) -> ScheduleControl:
    control = ctx.extra.get("scheduler")
    if control is None:
        raise DeviceError("no scheduler in this process (ctx.extra['scheduler'] is not set)")
    return control  # type: ignore[no-any-return]


def _fail(exc: Exception) -> DeviceError:
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    if isinstance(exc, ValueError):
        return InvalidArguments(text)
    return DeviceError(text)


def _done(comment: str, changes: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"result": True, "comment": comment, "changes": changes or {}, **extra}


def _spec(function: str | None, job_args: list[Any] | None, job_kwargs: dict[str, Any] | None,
          given: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in given.items() if v is not None}
    for key, value in (("function", function), ("args", job_args), ("kwargs", job_kwargs)):
        if value is not None:
            data[key] = value
    return data


def add(ctx: DeviceContext, name: str, function: str, job_args: list[Any] | None = None,
        job_kwargs: dict[str, Any] | None = None, seconds: float | None = None, minutes: float | None = None,
        hours: float | None = None, days: float | None = None, cron: str | None = None, once: str | None = None,
        once_fmt: str | None = None, splay: float | dict[str, float] | None = None,
        run_on_start: bool | None = None, maxrunning: int | None = None, after: str | None = None,
        until: str | None = None, enabled: bool | None = None, catch_up: bool | None = None,
        condition: dict[str, Any] | list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Add a job to the device's schedule; it is stored and survives restarts.

    Exactly one of an interval (``seconds``/``minutes``/``hours``/``days``), ``cron`` or
    ``once``. ``condition`` gates each run on a device value (see the module docs).

    CLI Example::

        fleet '*' schedule.add log_speed function=obd.query job_args='[SPEED]' seconds=2
        fleet '*' schedule.add rpm function=obd.query job_args='[RPM]' seconds=5 \\
            condition='{function: obd.query, args: [RPM], key: value, above: 0}'
        fleet-call schedule.add nightly function=cmd.run job_args='["sync"]' cron='0 3 * * *'
    """
    data = _spec(function, job_args, job_kwargs, {
        "seconds": seconds, "minutes": minutes, "hours": hours, "days": days, "cron": cron, "once": once,
        "once_fmt": once_fmt, "splay": splay, "run_on_start": run_on_start, "maxrunning": maxrunning,
        "after": after, "until": until, "enabled": enabled, "catch_up": catch_up, "condition": condition})
    try:
        entry = _control(ctx).add(name, data)
    except (ValueError, KeyError, OSError) as exc:
        raise _fail(exc) from exc
    return _done(f"Added job: {name} to schedule.", {name: "added"}, job=entry)


def modify(ctx: DeviceContext, name: str, function: str | None = None, job_args: list[Any] | None = None,
           job_kwargs: dict[str, Any] | None = None, seconds: float | None = None, minutes: float | None = None,
           hours: float | None = None, days: float | None = None, cron: str | None = None, once: str | None = None,
           once_fmt: str | None = None, splay: float | dict[str, float] | None = None,
           run_on_start: bool | None = None, maxrunning: int | None = None, after: str | None = None,
           until: str | None = None, enabled: bool | None = None, catch_up: bool | None = None,
           condition: dict[str, Any] | list[dict[str, Any]] | None = None,
           remove: list[str] | None = None) -> dict[str, Any]:
    """Change some keys of a scheduled job; ``remove`` lists keys to drop (``remove='[until]'``).
    Giving a new interval, cron or once replaces the old timing.

    CLI Example::

        fleet '*' schedule.modify log_speed seconds=5
        fleet '*' schedule.modify log_speed remove='[condition]'
    """
    changes = _spec(function, job_args, job_kwargs, {
        "seconds": seconds, "minutes": minutes, "hours": hours, "days": days, "cron": cron, "once": once,
        "once_fmt": once_fmt, "splay": splay, "run_on_start": run_on_start, "maxrunning": maxrunning,
        "after": after, "until": until, "enabled": enabled, "catch_up": catch_up, "condition": condition})
    try:
        old, new = _control(ctx).modify(name, changes, remove or ())
    except (ValueError, KeyError, OSError) as exc:
        raise _fail(exc) from exc
    if old == new:
        return _done(f"Job {name} in correct state", {})
    return _done(f"Modified job: {name} in schedule.", {name: {"old": old, "new": new}})


def delete(ctx: DeviceContext, name: str) -> dict[str, Any]:
    """Delete a job from the schedule (jobs from the minion config file are changed there).

    CLI Example::

        fleet '*' schedule.delete log_speed
    """
    try:
        _control(ctx).delete(name)
    except (ValueError, KeyError, OSError) as exc:
        raise _fail(exc) from exc
    return _done(f"Deleted Job {name} from schedule.", {name: "removed"})


def enable_job(ctx: DeviceContext, name: str) -> dict[str, Any]:
    """Enable one job. Its cadence starts from now; time spent disabled is not caught up.

    CLI Example::

        fleet '*' schedule.enable_job log_speed
    """
    try:
        _control(ctx).enable_job(name)
    except (ValueError, KeyError, OSError) as exc:
        raise _fail(exc) from exc
    return _done(f"Enabled Job {name} in schedule.", {name: "enabled"})


def disable_job(ctx: DeviceContext, name: str) -> dict[str, Any]:
    """Disable one job; it stays in the schedule.

    CLI Example::

        fleet '*' schedule.disable_job log_speed
    """
    try:
        _control(ctx).disable_job(name)
    except (ValueError, KeyError, OSError) as exc:
        raise _fail(exc) from exc
    return _done(f"Disabled Job {name} in schedule.", {name: "disabled"})


def enable(ctx: DeviceContext) -> dict[str, Any]:
    """Enable the whole schedule.

    CLI Example::

        fleet '*' schedule.enable
    """
    try:
        _control(ctx).enable()
    except OSError as exc:
        raise _fail(exc) from exc
    return _done("Enabled schedule on minion.", {"schedule": "enabled"})


def disable(ctx: DeviceContext) -> dict[str, Any]:
    """Disable the whole schedule: nothing runs until ``schedule.enable``.

    CLI Example::

        fleet '*' schedule.disable
    """
    try:
        _control(ctx).disable()
    except OSError as exc:
        raise _fail(exc) from exc
    return _done("Disabled schedule on minion.", {"schedule": "disabled"})


def run_job(ctx: DeviceContext, name: str, force: bool = False) -> dict[str, Any]:
    """Run a scheduled job now, once, ignoring its condition and maxrunning; a disabled job
    only with ``force=True``. Its result reaches the master under the returned jid. Under
    ``fleet-call`` the running minion (or the next one to start) runs it.

    CLI Example::

        fleet '*' schedule.run_job log_speed
    """
    try:
        jid = _control(ctx).run_job(name, force)
    except (ValueError, KeyError, OSError) as exc:
        raise _fail(exc) from exc
    if jid is None:
        return _done(f"Scheduling Job {name} on minion (queued for the minion process).")
    return _done(f"Scheduling Job {name} on minion.", jid=jid)


def list_(ctx: DeviceContext) -> dict[str, Any]:
    """The schedule: whether it is enabled, each job with its source (config or store) and
    status (runs, missed, busy, condition_false, condition_errors, last_run, next_run in UTC),
    and entries left out because they do not validate.

    CLI Example::

        fleet '*' schedule.list
    """
    try:
        return _control(ctx).listing()
    except OSError as exc:
        raise _fail(exc) from exc


def _available(ctx: DeviceContext) -> Availability:
    if ctx.extra.get("scheduler") is None:
        return Availability.no("no scheduler or schedule store was given to this process")
    return Availability.yes()


MODULE = ModuleSpec(
    name="schedule",
    functions={"add": add, "modify": modify, "delete": delete, "enable_job": enable_job,
               "disable_job": disable_job, "enable": enable, "disable": disable, "run_job": run_job,
               "list": list_},
    available=_available,
    doc=__doc__ or "",
)
