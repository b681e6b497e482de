"""The evaluated form of a target: ``and`` / ``or`` / ``not`` over terms, in three-valued logic.

A node answers for one minion (``evaluate``) or for a whole population at
once (``select``). Both use Kleene's logic, where ``None`` means "unknown":
the term needs grains the master has never cached. ``False and unknown`` is
False, ``True or unknown`` is True, ``not unknown`` is unknown.

``select`` works on sets and short-circuits the way ``and``/``or`` do: the
right side of an ``and`` is only tried on minions the left side did not rule
out, the right side of an ``or`` only on those not already in.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Set
from typing import Any

__all__ = ["EMPTY", "And", "Node", "Not", "Or", "Population", "Selection"]

EMPTY: Mapping[str, Any] = {}

#: (minions for which the node is True, minions for which it is unknown)
Selection = tuple[set[str], set[str]]


class Population:
    """The minions a master evaluates a target over: id -> cached grains, or None if never cached.

    Candidate sets handed to ``select`` are always subsets of its ids.
    """

    __slots__ = ("minions",)

    def __init__(self, minions: Mapping[str, Mapping[str, Any] | None]) -> None:
        self.minions = minions


class Node(ABC):
    """Base of the evaluated forms; ``needs_data`` tells whether any term reads grains or pillar."""

    __slots__ = ()
    needs_data: bool = False

    @abstractmethod
    def evaluate(self, minion_id: str, grains: Mapping[str, Any] | None,
                 pillar: Mapping[str, Any] | None) -> bool | None:
        """True or False for this minion, None when the data it needs is missing."""

    @abstractmethod
    def select(self, candidates: Set[str], population: Population) -> Selection:
        """The candidates this node matches, reading the population's cached data."""

    @abstractmethod
    def describe(self) -> str:
        """The expression back as text."""


class And(Node):
    __slots__ = ("children", "needs_data")

    def __init__(self, children: tuple[Node, ...]) -> None:
        self.children = children
        self.needs_data = any(child.needs_data for child in children)

    def evaluate(self, minion_id: str, grains: Mapping[str, Any] | None,
                 pillar: Mapping[str, Any] | None) -> bool | None:
        result: bool | None = True
        for child in self.children:
            value = child.evaluate(minion_id, grains, pillar)
            if value is False:
                return False
            if value is None:
                result = None
        return result

    def select(self, candidates: Set[str], population: Population) -> Selection:
        # live: not yet ruled out (true or unknown so far); a child only sees those.
        # A child's sets are fresh and ours to reuse, which saves a copy per step.
        live: Set[str] = candidates
        true: set[str] = set()
        unknown: set[str] = set()
        for child in self.children:
            true, child_unknown = child.select(live, population)
            if unknown:
                unknown &= true
            if child_unknown:
                unknown |= child_unknown
                live = true | child_unknown
            else:
                live = true
            if not live:
                break
        if unknown:
            true -= unknown
        return true, unknown

    def describe(self) -> str:
        return "(" + " and ".join(child.describe() for child in self.children) + ")"


class Or(Node):
    __slots__ = ("children", "needs_data")

    def __init__(self, children: tuple[Node, ...]) -> None:
        self.children = children
        self.needs_data = any(child.needs_data for child in children)

    def evaluate(self, minion_id: str, grains: Mapping[str, Any] | None,
                 pillar: Mapping[str, Any] | None) -> bool | None:
        result: bool | None = False
        for child in self.children:
            value = child.evaluate(minion_id, grains, pillar)
            if value is True:
                return True
            if value is None:
                result = None
        return result

    def select(self, candidates: Set[str], population: Population) -> Selection:
        true: set[str] = set()
        unknown: set[str] = set()
        rest: Set[str] = candidates
        for child in self.children:
            if not rest:
                break
            child_true, child_unknown = child.select(rest, population)
            true |= child_true
            unknown = (unknown - child_true) | child_unknown
            rest = rest - child_true if child_true else rest
        return true, unknown

    def describe(self) -> str:
        return "(" + " or ".join(child.describe() for child in self.children) + ")"


class Not(Node):
    __slots__ = ("child", "needs_data")

    def __init__(self, child: Node) -> None:
        self.child = child
        self.needs_data = child.needs_data

    def evaluate(self, minion_id: str, grains: Mapping[str, Any] | None,
                 pillar: Mapping[str, Any] | None) -> bool | None:
        value = self.child.evaluate(minion_id, grains, pillar)
        return None if value is None else not value

    def select(self, candidates: Set[str], population: Population) -> Selection:
        child_true, child_unknown = self.child.select(candidates, population)
        true = set(candidates)
        true -= child_true
        true -= child_unknown
        return true, child_unknown

    def describe(self) -> str:
        inner = self.child.describe()
        return f"not ({inner})" if isinstance(self.child, Not) else f"not {inner}"
