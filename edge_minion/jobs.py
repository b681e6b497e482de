"""Running published jobs concurrently and keeping the table of what runs.

Each job runs in a worker thread, so a long ``test.sleep`` never delays a
``test.ping``; the table answers ``saltutil.find_job`` and
``saltutil.running`` the way Salt's proc directory does.
"""

from __future__ import annotations

import datetime
import logging
import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

log = logging.getLogger(__name__)

#: A function that runs ``fun`` with Salt-style ``arg`` and gives (return, retcode, success, out).
Runner = Callable[[str, list[Any]], tuple[Any, int, bool, str | None]]


def utc_stamp() -> str:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None).isoformat()


INTERRUPTED = ("Job interrupted: the minion stopped (restart or power loss) while it ran; "
               "it was not run again because its function is not declared idempotent.")


def return_load(minion_id: str, pub: Mapping[str, Any], result: tuple[Any, int, bool, str | None]) -> dict[str, Any]:
    """The ``_return`` load Salt's master expects for one job."""
    ret, retcode, success, out = result
    load: dict[str, Any] = {
        "cmd": "_return",
        "id": minion_id,
        "jid": pub["jid"],
        "fun": pub["fun"],
        "fun_args": list(pub.get("arg") or []),
        "return": ret,
        "retcode": retcode,
        "success": success,
        "_stamp": utc_stamp(),
    }
    if out:
        load["out"] = out
    for key in ("metadata", "master_id", "user"):
        if key in pub:
            load[key] = pub[key]
    return load


class JobTable:
    """Jobs in progress, keyed by jid (implements device_modules' RunningJobs)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, dict[str, Any]] = {}

    def start(self, pub: Mapping[str, Any]) -> None:
        entry = {
            "jid": pub["jid"],
            "fun": pub["fun"],
            "arg": list(pub.get("arg") or []),
            "pid": os.getpid(),
            "tgt": pub.get("tgt", ""),
            "tgt_type": pub.get("tgt_type", "glob"),
            "user": pub.get("user", ""),
        }
        with self._lock:
            self._jobs[str(pub["jid"])] = entry

    def finish(self, jid: str) -> None:
        with self._lock:
            self._jobs.pop(jid, None)

    def running(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(v) for v in self._jobs.values()]

    def find(self, jid: str) -> dict[str, Any]:
        with self._lock:
            return dict(self._jobs.get(str(jid), {}))


class JobRunner:
    """Runs jobs on a thread pool and hands each finished return load to ``on_return``."""

    def __init__(self, minion_id: str, runner: Runner, on_return: Callable[[dict[str, Any]], None],
                 max_workers: int = 16, table: JobTable | None = None,
                 on_start: Callable[[str], None] | None = None) -> None:
        self.minion_id = minion_id
        self._runner = runner
        self._on_return = on_return
        self._on_start = on_start
        self.table = table or JobTable()
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="job")

    def submit(self, pub: Mapping[str, Any]) -> Future[None]:
        self.table.start(pub)
        return self._pool.submit(self._run, dict(pub))

    def _run(self, pub: dict[str, Any]) -> None:
        jid = str(pub["jid"])
        if self._on_start is not None:
            try:
                self._on_start(jid)
            except Exception:
                log.exception("could not mark job %s as started", jid)
        try:
            result = self._runner(str(pub["fun"]), list(pub.get("arg") or []))
        except Exception as exc:  # the runner maps module errors; this is the last guard
            log.exception("job %s (%s) failed outside its module", jid, pub.get("fun"))
            result = (f"The minion function caused an exception: {exc!r}", 1, False, "nested")
        try:
            self._on_return(return_load(self.minion_id, pub, result))
        except Exception:
            log.exception("could not queue the return of job %s", jid)
        finally:
            self.table.finish(jid)

    def shutdown(self, wait: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=True)
