"""Errors of the grains package.

Tree::

    MinionError                       (edge_minion.errors)
    └── GrainsError                   something about grains went wrong
        ├── GrainsFileError (OSError)     grains.yaml cannot be read or written
        ├── GrainsFileCorrupt (ValueError) grains.yaml holds something other than a YAML mapping
        ├── GrainTypeError (TypeError)    a value cannot be stored or appended to
        └── UnknownRevision (ValueError)  a Raspberry Pi revision code that no table names

A grain *source* that fails (an unreadable ``/proc`` file, a missing
``/etc/os-release``) raises whatever the standard library raised; ``collect``
logs it and skips that source, so none of these reach the minion from there.
"""

from __future__ import annotations

from edge_minion.errors import MinionError


class GrainsError(MinionError):
    """Root of the grains package's own errors."""


class GrainsFileError(GrainsError, OSError):
    """The persisted grains file cannot be read or written (permissions, disk full, read-only)."""


class GrainsFileCorrupt(GrainsError, ValueError):
    """The persisted grains file is not a YAML mapping."""


class GrainTypeError(GrainsError, TypeError):
    """A grain value cannot be persisted (not YAML), or appended to (not a list)."""


class UnknownRevision(GrainsError, ValueError):
    """A Raspberry Pi revision code that neither the bitfield nor the old table decodes."""
