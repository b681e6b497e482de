"""Errors of the minion's scheduler.

Tree::

    MinionError
    └── ScheduleError
        ├── InvalidEntry (ValueError)     an entry or a condition does not validate
        ├── UnknownEntry (KeyError)       no entry of that name
        ├── ConfigEntry (PermissionError) the entry is declared in the minion config file
        ├── StoreError (OSError)          the schedule files cannot be read or written
        └── ConditionError                a condition could not be checked (the call failed)
"""

from __future__ import annotations

from edge_minion.errors import MinionError

__all__ = ["ConditionError", "ConfigEntry", "InvalidEntry", "ScheduleError", "StoreError", "UnknownEntry"]


class ScheduleError(MinionError):
    """Root of the scheduler's errors."""


class InvalidEntry(ScheduleError, ValueError):
    """A schedule entry (or its condition) is invalid; the message names the entry and the key."""


class UnknownEntry(ScheduleError, KeyError):
    """No schedule entry has that name."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown schedule entry"


class ConfigEntry(ScheduleError, PermissionError):
    """The entry comes from the minion config file and can only be changed there."""


class StoreError(ScheduleError, OSError):
    """The persisted schedule could not be read or written."""


class ConditionError(ScheduleError):
    """A condition's function failed or its result could not be compared."""
