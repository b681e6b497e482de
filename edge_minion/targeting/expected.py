"""The master's question: which minions are expected to answer a target?"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from edge_minion.targeting.target import Target
from edge_minion.targeting.tree import Population

__all__ = ["Expected", "expected_minions"]


class Expected:
    """``matched``: the target selects them; ``unknown``: it depends on grains never cached for them."""

    __slots__ = ("matched", "unknown")

    def __init__(self, matched: set[str] | None = None, unknown: set[str] | None = None) -> None:
        self.matched: set[str] = set() if matched is None else matched
        self.unknown: set[str] = set() if unknown is None else unknown

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Expected):
            return NotImplemented
        return self.matched == other.matched and self.unknown == other.unknown

    __hash__ = None  # type: ignore[assignment]  # mutable sets inside

    def __repr__(self) -> str:
        return f"Expected(matched={len(self.matched)} minions, unknown={len(self.unknown)} minions)"


def expected_minions(target: Target, minions: Mapping[str, Mapping[str, Any] | None]) -> Expected:
    """Split ``minions`` (id -> cached grains, or None if never cached) by ``target``.

    Works on whole sets, term by term, with ``and``/``or`` short-circuiting
    over the remaining candidates: ids are never re-parsed, patterns never
    recompiled. Salt's master leaves minions without cached grains out of
    grain targets; here they are reported as ``unknown`` instead.
    """
    matched, unknown = target.root.select(minions.keys(), Population(minions))
    return Expected(matched, unknown)
