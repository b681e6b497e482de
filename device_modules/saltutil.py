"""``saltutil.*``: the jobs running on this device, and refreshing its grains.

A Salt master calls ``saltutil.find_job`` while it waits for a long job, so
the answer must keep Salt's shape: ``{jid, fun, arg, pid, tgt, tgt_type,
user}`` for a running job and ``{}`` otherwise.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from device_modules.context import DeviceContext
from device_modules.spec import ModuleSpec

__all__ = ["MODULE"]


def find_job(ctx: DeviceContext, jid: str) -> dict[str, Any]:
    """The running job ``jid``, or ``{}`` when no such job runs.

    CLI Example::

        fleet '*' saltutil.find_job 20240101120000123456
    """
    return ctx.jobs.find(str(jid))


def running(ctx: DeviceContext) -> list[dict[str, Any]]:
    """Every job running now, each as ``find_job`` shows it.

    CLI Example::

        fleet '*' saltutil.running
    """
    return ctx.jobs.running()


def is_running(ctx: DeviceContext, fun: str) -> list[dict[str, Any]]:
    """The running jobs whose function matches the glob ``fun`` (``[]`` if none).

    CLI Example::

        fleet '*' saltutil.is_running 'cmd.*'
    """
    return [job for job in ctx.jobs.running() if fnmatchcase(str(job.get("fun", "")), fun)]


def refresh_grains(ctx: DeviceContext) -> bool:
    """Collect the grains again (the minion then resends them to its master); returns ``True``.

    CLI Example::

        fleet '*' saltutil.refresh_grains
    """
    if ctx.grains is not None:
        ctx.grains.refresh()
    return True


MODULE = ModuleSpec(
    name="saltutil",
    functions={
        "find_job": find_job,
        "running": running,
        "is_running": is_running,
        "refresh_grains": refresh_grains,
    },
    doc="The jobs running on this device, and refreshing its grains.",
    idempotent=frozenset({"find_job", "running", "is_running", "refresh_grains"}),
)
