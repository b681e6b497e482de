"""Targeting at the edges of a publish: the minion's "is this for me?", the master's nodegroup resolution."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from edge_minion.targeting.errors import TargetingError
from edge_minion.targeting.nodegroups import Nodegroups, expand, expand_words
from edge_minion.targeting.target import Target, parse
from edge_minion.targeting.words import split_words

__all__ = ["match_publish", "resolve_nodegroups"]

# The minion passes the load's delimiter to these matchers only (salt/minion.py: _target_load).
_DELIMITED = frozenset({"grain", "grain_pcre", "pillar"})


def match_publish(load: Mapping[str, Any], minion_id: str, grains: Mapping[str, Any],
                  nodegroups: Nodegroups | None = None, pillar: Mapping[str, Any] | None = None) -> bool:
    """Whether a publish load (``tgt``, ``tgt_type``, ``delimiter``) targets this minion.

    A load without ``tgt``, with an unknown ``tgt_type`` or a malformed target
    is not for us: Salt's minion drops such publishes too. Only targeting is
    judged here; checking ``jid``/``fun``/``arg`` is the caller's business.
    """
    if "tgt" not in load:
        return False
    tgt_type = load.get("tgt_type", "glob")
    delimiter = load.get("delimiter", ":") if tgt_type in _DELIMITED else ":"
    if not isinstance(tgt_type, str) or not isinstance(delimiter, str):
        return False
    tgt = load["tgt"]
    try:
        if nodegroups is None and isinstance(tgt, (str, list, tuple)):
            target = _parse_cached(tgt if isinstance(tgt, str) else tuple(tgt), tgt_type, delimiter)
        else:
            target = parse(tgt, tgt_type, nodegroups=nodegroups, delimiter=delimiter)
    except (TargetingError, TypeError):
        return False
    return target.matches(minion_id, grains, pillar)


@functools.lru_cache(maxsize=64)
def _parse_cached(tgt: str | tuple[str, ...], tgt_type: str, delimiter: str) -> Target:
    return parse(tgt, tgt_type, delimiter=delimiter)


def resolve_nodegroups(tgt: str | list[str], tgt_type: str,
                       nodegroups: Nodegroups | None) -> tuple[str | list[str], str]:
    """What Salt's client publishes for a target: nodegroups expanded so minions need no nodegroup config.

    ``nodegroup`` becomes ``compound``; ``N@name`` words inside a compound are
    replaced by their expansion; other targets are returned unchanged.

    Raises:
        UnknownNodegroupError, NodegroupCycleError: as ``parse`` would.
    """
    if tgt_type == "nodegroup" and isinstance(tgt, str):
        return " ".join(word.text for word in expand(tgt, nodegroups, 0, show_position=False)), "compound"
    if tgt_type == "compound":
        return " ".join(word.text for word in expand_words(split_words(tgt), nodegroups)), "compound"
    return tgt, tgt_type
