"""The terms a target is made of: tests on the minion id, on grains, on pillar, on addresses.

Every term is compiled when the target is parsed (glob translated to a regex,
regex compiled, grain path pre-split, network parsed) and raises
``TargetSyntaxError`` then, so matching itself never fails.
"""

from __future__ import annotations

import fnmatch
import re
from abc import abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from typing import Any

from edge_minion.targeting.errors import TargetSyntaxError
from edge_minion.targeting.ipcidr import CidrMatcher
from edge_minion.targeting.subdict import Mode, SubdictMatcher, regex_error
from edge_minion.targeting.tree import EMPTY, Node, Population, Selection

__all__ = ["CidrTerm", "DataTerm", "GlobTerm", "IdTerm", "ListTerm", "PcreTerm", "compile_regex"]

_GLOB_MAGIC = frozenset("*?[")


def compile_regex(pattern: str, position: int) -> re.Pattern[str]:
    """``re.compile(pattern)``, or ``TargetSyntaxError('invalid regular expression at <position>: ...')``."""
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise TargetSyntaxError("invalid regular expression", position, str(exc)) from exc


class IdTerm(Node):
    """A term decided by the minion id alone: known to the master for every accepted minion."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    @abstractmethod
    def test(self, minion_id: str) -> bool:
        """Whether the id matches."""

    def evaluate(self, minion_id: str, grains: Mapping[str, Any] | None,
                 pillar: Mapping[str, Any] | None) -> bool:
        return self.test(minion_id)

    def select(self, candidates: Set[str], population: Population) -> Selection:
        test = self.test
        return {mid for mid in candidates if test(mid)}, set()

    def describe(self) -> str:
        return self.text


class GlobTerm(IdTerm):
    """``fnmatch`` on the id (case-sensitive on POSIX, as Salt's master and minion apply it)."""

    __slots__ = ("_literal", "_match", "_prefix")

    def __init__(self, pattern: str) -> None:
        super().__init__(pattern)
        self._literal = None if _GLOB_MAGIC.intersection(pattern) else pattern
        # 'car-00*' is a prefix test: the same verdicts as its regex, several times faster
        head = pattern[:-1]
        self._prefix = head if pattern.endswith("*") and not _GLOB_MAGIC.intersection(head) else None
        self._match = re.compile(fnmatch.translate(pattern)).match

    def test(self, minion_id: str) -> bool:
        return self._match(minion_id) is not None

    def select(self, candidates: Set[str], population: Population) -> Selection:
        if self._literal is not None:
            return ({self._literal} if self._literal in candidates else set()), set()
        if self._prefix is not None:
            prefix = self._prefix
            return {mid for mid in candidates if mid.startswith(prefix)}, set()
        match = self._match
        return {mid for mid in candidates if match(mid) is not None}, set()


class PcreTerm(IdTerm):
    """``re.match`` on the id: anchored at the start only."""

    __slots__ = ("_match",)

    def __init__(self, pattern: str, position: int = 0) -> None:
        super().__init__(f"E@{pattern}")
        self._match = compile_regex(pattern, position).match

    def test(self, minion_id: str) -> bool:
        return self._match(minion_id) is not None

    def select(self, candidates: Set[str], population: Population) -> Selection:
        match = self._match
        return {mid for mid in candidates if match(mid) is not None}, set()


class ListTerm(IdTerm):
    """Membership in a comma-separated string (Salt's containment test) or in a list."""

    __slots__ = ("_items", "_string")

    def __init__(self, items: str | Sequence[str]) -> None:
        if isinstance(items, str):
            super().__init__(f"L@{items}")
            self._string: str | None = items
            self._items = frozenset(items.split(","))
        else:
            super().__init__("L@" + ",".join(items))
            self._string = None
            self._items = frozenset(items)

    def test(self, minion_id: str) -> bool:
        text = self._string
        if text is None or "," not in minion_id:
            return minion_id in self._items
        # An id holding commas matches a run of consecutive elements, as Salt's substring test has it.
        return (f",{minion_id}," in text or text.startswith(minion_id + ",")
                or text.endswith("," + minion_id) or minion_id == text)

    def select(self, candidates: Set[str], population: Population) -> Selection:
        if len(self._items) < len(candidates):
            found = {mid for mid in self._items if mid in candidates}
        else:
            found = {mid for mid in candidates if mid in self._items}
        if self._string is not None and "," in "".join(candidates):  # one pass in C; such ids are rare
            found.update(mid for mid in candidates if "," in mid and self.test(mid))
        return found, set()


class DataTerm(Node):
    """``subdict_match`` on grains (``G@``, ``P@``; source "grain") or pillar (``I@``, ``J@``; source "pillar").

    The master holds no pillar: there, pillar is an empty mapping for every
    minion whose grains are cached, and unknown for the others.
    """

    __slots__ = ("text", "source", "_matcher")
    needs_data = True

    def __init__(self, text: str, expr: str, delimiter: str, mode: Mode, source: str, position: int) -> None:
        """``position`` is where ``expr`` starts. Raises TargetSyntaxError for a missing delimiter or bad regex."""
        if not delimiter:
            raise TargetSyntaxError("empty delimiter", position)
        if delimiter not in expr:
            raise TargetSyntaxError(f"{source} target {expr!r} needs 'key{delimiter}value'", position)
        if mode == "pcre":
            problem = regex_error(expr, delimiter)
            if problem is not None:
                offset, message = problem
                raise TargetSyntaxError("invalid regular expression", position + offset,
                                        f"{message} ({source} patterns are lower-cased, as Salt does)")
        self.text = text
        self.source = source
        self._matcher = SubdictMatcher(expr, delimiter, mode)

    def evaluate(self, minion_id: str, grains: Mapping[str, Any] | None,
                 pillar: Mapping[str, Any] | None) -> bool | None:
        if grains is None:
            return None
        if self.source == "grain":
            return self._matcher(grains)
        return self._matcher(pillar if pillar is not None else EMPTY)

    def select(self, candidates: Set[str], population: Population) -> Selection:
        minions = population.minions
        if self.source == "pillar":  # the master holds no pillar: empty wherever grains are cached
            never_cached = {mid for mid in candidates if minions[mid] is None}
            return (set(candidates) - never_cached if self._matcher(EMPTY) else set()), never_cached
        matcher = self._matcher
        key = matcher.simple_key
        if key is None:
            return _select_by_grains(matcher, candidates, population)
        # ``key:pattern`` with a string value: one dict lookup and a remembered verdict per minion.
        memo = matcher.value_memo()
        verdict = matcher.value_verdict
        matched: set[str] = set()
        unknown: set[str] = set()
        for mid, grains in _pairs(candidates, population):
            if grains is None:
                unknown.add(mid)
                continue
            value = grains.get(key) if type(grains) is dict else None
            if type(value) is str:
                hit = memo.get(value)
                if hit is None:
                    hit = verdict(value)
            else:
                hit = matcher(grains)
            if hit:
                matched.add(mid)
        return matched, unknown

    def describe(self) -> str:
        return self.text


class CidrTerm(Node):
    """``S@``: an address or network against grains ``ipv4`` / ``ipv6``."""

    __slots__ = ("text", "_matcher")
    needs_data = True

    def __init__(self, text: str, cidr: str, position: int) -> None:
        self.text = text
        self._matcher = CidrMatcher(cidr, position)

    def evaluate(self, minion_id: str, grains: Mapping[str, Any] | None,
                 pillar: Mapping[str, Any] | None) -> bool | None:
        return None if grains is None else self._matcher(grains)

    def select(self, candidates: Set[str], population: Population) -> Selection:
        return self._matcher.split(_pairs(candidates, population))

    def describe(self) -> str:
        return self.text


def _select_by_grains(matcher: Callable[[Mapping[str, Any]], bool], candidates: Set[str],
                      population: Population) -> Selection:
    matched: set[str] = set()
    unknown: set[str] = set()
    minions = population.minions
    for mid in candidates:
        grains = minions[mid]
        if grains is None:
            unknown.add(mid)
        elif matcher(grains):
            matched.add(mid)
    return matched, unknown


def _pairs(candidates: Set[str], population: Population) -> Iterable[tuple[str, Mapping[str, Any] | None]]:
    """(id, cached grains) for each candidate, in the population's order.

    Candidates come from the population, so as many means all. Walking the
    population in its own order reads the grains in allocation order; following
    a set's hash order instead costs a cache miss per minion at fleet scale.
    """
    minions = population.minions
    if len(candidates) == len(minions):
        return minions.items()
    if len(candidates) * 8 >= len(minions):
        return ((mid, grains) for mid, grains in minions.items() if mid in candidates)
    return ((mid, minions[mid]) for mid in candidates)
