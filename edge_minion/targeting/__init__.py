"""Salt's targeting language, pure: no I/O, no clock, stdlib only.

Used on both sides of a publish::

    target = parse("G@role:car and not L@car-0007", "compound")
    target.matches("car-0001", grains)          # minion: does this publish target me?
    target.evaluate("car-0001", None)           # master: None, grains never cached
    expected_minions(target, cached_grains)     # master: Expected(matched=..., unknown=...)
    match_publish(load, "car-0001", grains)     # minion: straight from a publish load

Target types (Salt's ``tgt_type`` names): ``glob``, ``pcre``, ``list``,
``grain``, ``grain_pcre``, ``pillar``, ``pillar_pcre``, ``pillar_exact``,
``ipcidr``, ``compound`` (``G@ P@ I@ J@ L@ S@ E@ N@``, ``and or not ( )``)
and ``nodegroup``.
"""

from __future__ import annotations

from edge_minion.targeting.errors import (
    NodegroupCycleError,
    TargetingError,
    TargetSyntaxError,
    UnknownNodegroupError,
    UnsupportedTargetTypeError,
)
from edge_minion.targeting.expected import Expected, expected_minions
from edge_minion.targeting.publish import match_publish, resolve_nodegroups
from edge_minion.targeting.target import TARGET_TYPES, Target, parse

__all__ = [
    "TARGET_TYPES",
    "Expected",
    "NodegroupCycleError",
    "Target",
    "TargetSyntaxError",
    "TargetingError",
    "UnknownNodegroupError",
    "UnsupportedTargetTypeError",
    "expected_minions",
    "match_publish",
    "parse",
    "resolve_nodegroups",
]
