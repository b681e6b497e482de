"""Errors raised while reading a target expression.

    TargetingError                          root of this package's errors
     ├── TargetSyntaxError (ValueError)     malformed expression; ``.position`` is a 0-based offset
     │    ├── UnknownNodegroupError         ``N@name`` or ``-N name`` names no configured nodegroup
     │    └── NodegroupCycleError           a nodegroup refers back to itself through ``N@``
     └── UnsupportedTargetTypeError (ValueError)   a ``tgt_type`` this package does not implement

Matching never raises: once ``parse`` has accepted an expression, ``matches`` and
``evaluate`` answer for any grains.
"""

from __future__ import annotations

__all__ = [
    "NodegroupCycleError",
    "TargetSyntaxError",
    "TargetingError",
    "UnknownNodegroupError",
    "UnsupportedTargetTypeError",
]


class TargetingError(Exception):
    """Root of the targeting errors."""


class TargetSyntaxError(TargetingError, ValueError):
    """A target expression that cannot be evaluated.

    ``reason`` says what is wrong, ``position`` where (0-based character offset
    into the expression; for a list target, into its elements joined by single
    spaces), ``detail`` optionally why (the regex or CIDR parser's own words).
    The message reads ``"<reason> at <position>[: <detail>]"``.
    """

    def __init__(self, reason: str, position: int, detail: str | None = None, *, show_position: bool = True) -> None:
        self.reason = reason
        self.position = position
        self.detail = detail
        message = f"{reason} at {position}" if show_position else reason
        if detail:
            message = f"{message}: {detail}"
        super().__init__(message)


class UnknownNodegroupError(TargetSyntaxError):
    """``N@name`` (or a nodegroup target) names a nodegroup that is not configured."""

    def __init__(self, name: str, position: int, *, show_position: bool = True) -> None:
        self.name = name
        super().__init__(f"unknown nodegroup {name!r}", position, show_position=show_position)


class NodegroupCycleError(TargetSyntaxError):
    """Nodegroups that include each other; ``chain`` is the path that loops."""

    def __init__(self, chain: tuple[str, ...], position: int, *, show_position: bool = True) -> None:
        self.chain = chain
        super().__init__("nodegroup cycle " + " -> ".join(repr(name) for name in chain), position,
                         show_position=show_position)


class UnsupportedTargetTypeError(TargetingError, ValueError):
    """A ``tgt_type`` outside the types this package implements (Salt's minion drops such publishes)."""

    def __init__(self, tgt_type: str) -> None:
        self.tgt_type = tgt_type
        super().__init__(f"unknown target type {tgt_type!r}")
