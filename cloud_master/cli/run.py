"""``fleet-run``: read the master's job cache (Salt's ``salt-run jobs.*``).

Reads the SQLite job cache directly; the master may be running (WAL lets a reader
and the writer work at once). Arguments are Salt-style: positional values and
``key=value`` pairs, values parsed as YAML scalars (``missing=True``, ``limit=10``).

    fleet-run jobs.list_jobs [search_function=GLOB] [search_target=GLOB] [limit=N]
    fleet-run jobs.lookup_jid JID [missing=True]
    fleet-run jobs.print_job JID
    fleet-run jobs.status JID
    fleet-run cache.grains [TARGET] [tgt_type=grain]
    fleet-run cache.updated [GLOB]
    fleet-run manage.status

Exit status: 0 done, 1 error or unknown jid, 2 bad usage.
"""

from __future__ import annotations

import argparse
import fnmatch
import inspect
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloud_master.cli.common import add_common_args, config_from_args, error, format_data, setup_logging

if TYPE_CHECKING:
    from cloud_master.jobcache import JobCache

PROG = "fleet-run"


class _UnknownJid(Exception):
    """Nothing is stored under the jid asked for."""


class _BadArgument(Exception):
    """An argument has the wrong type or value."""


def list_jobs(cache: JobCache | None, search_function: Any = None, search_target: Any = None,
              limit: Any = None) -> dict[str, Any]:
    """Jobs in the cache, oldest first; ``search_*`` are globs or lists of globs."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise _BadArgument(f"limit must be a non-negative integer, not {limit!r}")
    if cache is None:
        return {}
    return cache.list_jobs(limit, search_fun=search_function, search_target=search_target)


def lookup_jid(cache: JobCache | None, jid: Any, missing: bool = False) -> dict[str, Any]:
    """``{minion: return}`` for ``jid``."""
    return _require(cache, jid).lookup_jid(str(jid), missing=bool(missing))


def print_job(cache: JobCache | None, jid: Any) -> dict[str, Any]:
    """The job's publish data, expected minions and full results."""
    cache, jid = _require(cache, jid), str(jid)
    job = cache.get_job(jid)
    results = {m: {k: load[k] for k in ("return", "retcode", "success", "out") if k in load}
               for m, load in cache.get_returns(jid).items()}
    return {jid: {**(cache.describe(jid) or {}), "Minions": job.minions if job else sorted(results),
                  "Result": results}}


def status(cache: JobCache | None, jid: Any) -> dict[str, Any]:
    """Each target's state for ``jid`` and since when (UTC)."""
    return {minion: {"state": entry["state"],
                     "since": datetime.fromtimestamp(entry["since"], UTC).isoformat(timespec="seconds")}
            for minion, entry in _require(cache, jid).job_status(str(jid)).items()}


def _grains_cache(cache: JobCache | None) -> dict[str, tuple[dict[str, Any], float]]:
    from cloud_master.grains_cache import GrainsCache

    if cache is None or not (cache.path.parent / "grains.sqlite").exists():
        return {}
    store = GrainsCache(Path(cache.path).parent / "grains.sqlite", load=False)
    try:
        return store.read_all()
    finally:
        store.close()


def cache_grains(cache: JobCache | None, tgt: str = "*", tgt_type: str = "glob") -> dict[str, Any]:
    """Salt's ``cache.grains``: the grains the master cached for each matching minion."""
    from edge_minion.targeting import parse

    target = parse(tgt, tgt_type)
    return {mid: grains for mid, (grains, _) in sorted(_grains_cache(cache).items())
            if target.matches(mid, grains)}


def cache_updated(cache: JobCache | None, tgt: str = "*") -> dict[str, Any]:
    """When the master last received each matching minion's grains (UTC)."""
    return {mid: datetime.fromtimestamp(updated, UTC).isoformat(timespec="seconds")
            for mid, (_, updated) in sorted(_grains_cache(cache).items()) if fnmatch.fnmatch(mid, tgt)}


def manage_status(cache: JobCache | None) -> dict[str, Any]:
    """Salt's ``manage.status``: accepted minions split into ``up`` and ``down`` (live, from the master)."""
    if cache is None:
        raise _BadArgument("no master state here")
    from cloud_master.control import ControlClient

    client = ControlClient(Path(cache.path).parent.parent / "sock")
    try:
        reply = client.call({"cmd": "presence"}, timeout=10)
    finally:
        client.close()
    return {"up": reply.get("up", []), "down": reply.get("down", [])}


FUNCTIONS: dict[str, Callable[..., dict[str, Any]]] = {
    "cache.grains": cache_grains,
    "cache.updated": cache_updated,
    "manage.status": manage_status,
    "jobs.list_jobs": list_jobs,
    "jobs.lookup_jid": lookup_jid,
    "jobs.print_job": print_job,
    "jobs.status": status,
}


def _require(cache: JobCache | None, jid: Any) -> JobCache:
    if cache is None or not cache.has_jid(str(jid)):
        raise _UnknownJid(f"no job with jid {jid} in the job cache")
    return cache


def _parse_call(words: Sequence[str]) -> tuple[list[Any], dict[str, Any]]:
    import yaml

    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if sep and key.isidentifier():
            try:
                kwargs[key] = yaml.safe_load(value) if value else ""
            except yaml.YAMLError:
                kwargs[key] = value
        else:
            args.append(word)  # jids stay strings: yaml would read them as integers
    return args, kwargs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Query the master's job cache.",
        epilog="functions: " + ", ".join(FUNCTIONS))
    add_common_args(parser, ("nested", "json", "yaml"), "nested")
    parser.add_argument("function", help="one of: " + ", ".join(FUNCTIONS))
    parser.add_argument("arguments", nargs="*", metavar="ARG", help="positional or key=value")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``fleet-run``."""
    args = build_parser().parse_args(argv)
    from cloud_master.errors import MasterError
    from cloud_master.jobcache import JobCache

    fun = FUNCTIONS.get(args.function)
    if fun is None:
        return error(PROG, f"'{args.function}' is not available; try one of {', '.join(FUNCTIONS)}")
    call_args, call_kwargs = _parse_call(args.arguments)
    try:
        inspect.signature(fun).bind(None, *call_args, **call_kwargs)
    except TypeError as exc:
        return error(PROG, f"{args.function}: {exc}", 2)
    cache: JobCache | None = None
    try:
        config = config_from_args(args)
        setup_logging(config.log_level)
        if config.jobs_db.exists():
            cache = JobCache(config.jobs_db)
        result = fun(cache, *call_args, **call_kwargs)
    except _UnknownJid as exc:
        return error(PROG, str(exc))
    except _BadArgument as exc:
        return error(PROG, f"{args.function}: {exc}", 2)
    except MasterError as exc:
        return error(PROG, str(exc))
    finally:
        if cache is not None:
            cache.close()
    if args.out == "nested":
        from edge_minion.output import format_output

        print(format_output(result, "nested"))
    else:
        print(format_data(result, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
