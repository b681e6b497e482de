"""Turning a CLI's request into a job: target, expected set, jid, job cache, publish load."""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cloud_master.errors import TargetError
from cloud_master.jid import JidGenerator
from cloud_master.presence import Presence

# Salt target types, and the flag for each in the fleet CLI.
TARGET_TYPES = ("glob", "pcre", "list", "grain", "grain_pcre", "ipcidr", "compound", "nodegroup")


@dataclass(frozen=True)
class PlannedJob:
    jid: str
    load: dict[str, Any]
    minions: list[str]  # expected and connected
    offline: list[str]  # expected, accepted, not connected
    unknown: list[str] = field(default_factory=list)  # grains never seen: cannot tell


def expected_minions(tgt: Any, tgt_type: str, accepted: list[str],
                     grains: Mapping[str, Mapping[str, Any] | None],
                     nodegroups: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(matched, unknown) among accepted minions; TargetError for a malformed target."""
    from edge_minion.targeting import TargetSyntaxError, parse
    from edge_minion.targeting import expected_minions as evaluate

    try:
        target = parse(tgt, tgt_type, nodegroups=nodegroups)
    except TargetSyntaxError as exc:
        raise TargetError(str(exc)) from exc
    except ValueError as exc:
        raise TargetError(str(exc)) from exc
    result = evaluate(target, {mid: grains.get(mid) for mid in accepted})
    return sorted(result.matched), sorted(result.unknown)


class Publisher:
    def __init__(self, presence: Presence, accepted: Callable[[], list[str]],
                 grains: Mapping[str, Mapping[str, Any]], nodegroups: Mapping[str, Any],
                 clock: Callable[[], float] = time.time) -> None:
        self.presence = presence
        self._accepted = accepted
        self._grains = grains
        self.nodegroups = nodegroups
        self._clock = clock
        self._jids = JidGenerator()

    def new_jid(self) -> str:
        now = datetime.datetime.fromtimestamp(self._clock(), datetime.UTC).replace(tzinfo=None)
        return self._jids.next(now)

    def plan(self, request: Mapping[str, Any]) -> PlannedJob:
        tgt = request.get("tgt")
        tgt_type = str(request.get("tgt_type") or "glob")
        fun = request.get("fun")
        if tgt_type not in TARGET_TYPES:
            raise TargetError(f"unknown target type {tgt_type!r}")
        if not isinstance(fun, str) or not fun:
            raise TargetError("no function given")
        arg = request.get("arg") or []
        if not isinstance(arg, list):
            raise TargetError("arg must be a list")
        matched, unknown = expected_minions(tgt, tgt_type, self._accepted(), self._grains, self.nodegroups)
        if tgt_type == "nodegroup":
            # Minions know no nodegroups: publish the expansion, as Salt's client does.
            from edge_minion.targeting import resolve_nodegroups

            tgt, tgt_type = resolve_nodegroups(str(tgt), tgt_type, self.nodegroups)
        now = self._clock()
        up, down = self.presence.split(matched, now)
        jid = self.new_jid()
        load: dict[str, Any] = {
            "fun": fun, "arg": arg, "tgt": tgt, "tgt_type": tgt_type, "jid": jid,
            "ret": "", "user": str(request.get("user") or "root"),
        }
        if request.get("kwargs"):
            load["kwargs"] = request["kwargs"]
        return PlannedJob(jid, load, up, down, unknown)
