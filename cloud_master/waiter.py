"""How ``fleet`` waits: no fixed sleep, exit the moment every expected minion answered.

After ``timeout`` seconds the stragglers are asked ``saltutil.find_job``; those
still running the job get another ``timeout`` (and are reported as running),
those that stay silent for ``gather_timeout`` are "no response". Minions known
to be offline are never waited for. Every return that reaches the master is in
the job cache whether or not the CLI is still waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


class Control(Protocol):
    def send(self, msg: dict[str, Any]) -> None: ...

    def recv(self, timeout: float) -> dict[str, Any] | None: ...


@dataclass
class Outcome:
    jid: str
    returns: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> return load
    offline: list[str] = field(default_factory=list)
    no_response: list[str] = field(default_factory=list)
    still_running: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    @property
    def missing(self) -> list[str]:
        return sorted(set(self.offline) | set(self.no_response) | set(self.still_running))


OnReturn = Callable[[str, dict[str, Any]], None]
OnProgress = Callable[[int, int, list[str]], None]


@dataclass
class _Probe:
    """One round of ``saltutil.find_job`` to the stragglers."""

    deadline: float
    jid: str | None = None
    answers: dict[str, bool] = field(default_factory=dict)  # id -> still running


def wait_for_returns(control: Control, published: dict[str, Any], timeout: float, gather_timeout: float,
                     on_return: OnReturn, on_progress: OnProgress | None = None,
                     max_wait: float | None = None, clock: Callable[[], float] = time.monotonic) -> Outcome:
    jid = str(published["jid"])
    expected = set(published.get("minions") or [])
    out = Outcome(jid, offline=sorted(published.get("offline") or []),
                  unknown=sorted(published.get("unknown") or []))
    waiting, running, silent = set(expected), set[str](), set[str]()
    start = clock()
    deadline = start + timeout
    probe: _Probe | None = None

    def progress() -> None:
        if on_progress is not None:
            on_progress(len(out.returns.keys() & expected), len(expected), sorted(running & waiting))

    progress()
    while waiting:
        now = clock()
        if max_wait is not None and now - start >= max_wait:
            break
        if probe is None and now >= deadline:
            control.send({"cmd": "publish", "tgt": sorted(waiting), "tgt_type": "list",
                          "fun": "saltutil.find_job", "arg": [jid], "subscribe": True})
            probe = _Probe(deadline=now + gather_timeout)
        if probe is not None and (now >= probe.deadline or (probe.jid and probe.answers.keys() >= waiting)):
            still = {m for m in waiting if probe.answers.get(m)}
            silent |= waiting - still
            waiting, running = still, still
            if probe.jid:
                control.send({"cmd": "unsubscribe", "jid": probe.jid})
            probe = None
            progress()
            deadline = clock() + timeout
            continue
        wake = probe.deadline if probe is not None else deadline
        msg = control.recv(max(0.005, min(wake - now, 0.5)))
        if msg is None:
            continue
        event = msg.get("event")
        if probe is not None and probe.jid is None and event in ("published", "error"):
            if event == "error":
                probe.deadline = now  # cannot ask: everyone left is silent
            else:
                probe.jid = str(msg["jid"])
            continue
        if event != "return":
            continue
        mid, load = str(msg.get("id")), msg.get("load") or {}
        if msg.get("jid") == jid and mid not in out.returns:
            out.returns[mid] = load
            waiting.discard(mid)
            silent.discard(mid)
            on_return(mid, load)
            progress()
        elif probe is not None and msg.get("jid") == probe.jid:
            ret = load.get("return")
            probe.answers[mid] = isinstance(ret, dict) and bool(ret)
    out.still_running = sorted((running & waiting) - out.returns.keys())
    out.no_response = sorted((silent | (waiting - running)) - out.returns.keys())
    control.send({"cmd": "unsubscribe", "jid": jid})
    return out
