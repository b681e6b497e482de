"""``parse``: a Salt target (``tgt`` + ``tgt_type``) read once into a ``Target`` that answers quickly."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from edge_minion.targeting.compound import parse_words
from edge_minion.targeting.errors import TargetSyntaxError, UnsupportedTargetTypeError
from edge_minion.targeting.nodegroups import Nodegroups, expand, expand_words
from edge_minion.targeting.subdict import Mode
from edge_minion.targeting.terms import CidrTerm, DataTerm, GlobTerm, ListTerm, PcreTerm
from edge_minion.targeting.tree import EMPTY, Node
from edge_minion.targeting.words import split_words

__all__ = ["TARGET_TYPES", "Target", "parse"]

#: The ``tgt_type`` values ``parse`` understands (Salt's names).
TARGET_TYPES = ("glob", "pcre", "list", "grain", "grain_pcre", "pillar", "pillar_pcre", "pillar_exact",
                "ipcidr", "compound", "nodegroup")

_DATA_TYPES: dict[str, tuple[Mode, str]] = {
    "grain": ("glob", "grain"), "grain_pcre": ("pcre", "grain"), "pillar": ("glob", "pillar"),
    "pillar_pcre": ("pcre", "pillar"), "pillar_exact": ("exact", "pillar"),
}


class Target:
    """A parsed target. Immutable and safe to share between threads; build it with ``parse``."""

    __slots__ = ("tgt", "tgt_type", "delimiter", "root")

    def __init__(self, tgt: str | tuple[str, ...], tgt_type: str, delimiter: str, root: Node) -> None:
        self.tgt = tgt
        self.tgt_type = tgt_type
        self.delimiter = delimiter
        self.root = root

    @property
    def needs_grains(self) -> bool:
        """Whether the answer can depend on grains or pillar (else the id alone decides)."""
        return self.root.needs_data

    def matches(self, minion_id: str, grains: Mapping[str, Any] | None,
                pillar: Mapping[str, Any] | None = None) -> bool:
        """The minion's decision: does this target select ``minion_id`` with these grains?

        Missing grains or pillar count as empty mappings.
        """
        return self.root.evaluate(minion_id, EMPTY if grains is None else grains,
                                  EMPTY if pillar is None else pillar) is True

    def evaluate(self, minion_id: str, grains: Mapping[str, Any] | None,
                 pillar: Mapping[str, Any] | None = None) -> bool | None:
        """The master's decision: True, False, or None when it hinges on grains never cached (``grains`` None).

        Pillar, which the master does not hold, counts as an empty mapping once grains are known.
        """
        return self.root.evaluate(minion_id, grains, pillar)

    def describe(self) -> str:
        """The expression with its grouping made explicit: ``((a and b) or c)``."""
        return self.root.describe()

    def __repr__(self) -> str:
        return f"Target(tgt={self.tgt!r}, tgt_type={self.tgt_type!r})"


def parse(tgt: str | list[str] | tuple[str, ...], tgt_type: str = "glob",
          nodegroups: Nodegroups | None = None, delimiter: str = ":") -> Target:
    """Read a Salt target. Everything is checked here, so matching never raises.

    ``tgt`` is a string, or for ``list`` and ``compound`` also a list of words.
    ``delimiter`` separates grain/pillar keys for the ``grain*`` and ``pillar*``
    types; inside a compound each ``G@``/``P@``/``I@``/``J@`` word uses ``:``
    unless it names its own (``G|@os|Debian``), as in Salt. ``nodegroups`` maps
    names to compound strings or word lists, for ``N@name`` and ``nodegroup``.

    Raises:
        TargetSyntaxError: a malformed expression, with ``.position``.
        UnsupportedTargetTypeError: a ``tgt_type`` outside ``TARGET_TYPES``.
    """
    if tgt_type not in TARGET_TYPES:
        raise UnsupportedTargetTypeError(str(tgt_type))
    if isinstance(tgt, (list, tuple)):
        if not all(isinstance(word, str) for word in tgt):
            raise TargetSyntaxError("a target list must hold strings", 0)
        if tgt_type not in ("list", "compound"):
            raise TargetSyntaxError(f"a {tgt_type} target must be a string, not a list", 0)
        words: str | tuple[str, ...] = tuple(tgt)
    elif isinstance(tgt, str):
        words = tgt
    else:
        raise TargetSyntaxError(f"a target must be a string, not {type(tgt).__name__}", 0)
    return Target(words, tgt_type, delimiter, _root(words, tgt_type, nodegroups, delimiter))


def _root(tgt: str | Sequence[str], tgt_type: str, nodegroups: Nodegroups | None, delimiter: str) -> Node:
    if tgt_type == "compound":
        return parse_words(expand_words(split_words(tgt), nodegroups))
    if tgt_type == "list":
        return ListTerm(tgt)
    assert isinstance(tgt, str)
    if tgt_type == "nodegroup":
        return parse_words(expand(tgt, nodegroups, 0, show_position=False))
    if tgt_type == "glob":
        return GlobTerm(tgt)
    if tgt_type == "pcre":
        return PcreTerm(tgt, 0)
    if tgt_type == "ipcidr":
        return CidrTerm(tgt, tgt, 0)
    mode, source = _DATA_TYPES[tgt_type]
    return DataTerm(tgt, tgt, delimiter, mode, source, 0)
