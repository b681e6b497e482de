"""Errors of the cloud master.

Tree::

    MasterError
    ├── ConfigError (ValueError)        the master configuration is invalid
    ├── KeyStoreError                   the pki directory cannot be read or written
    │   └── KeyNotFound (KeyError)      no key for that minion id (in the states asked)
    ├── JobCacheError                   the job cache cannot be read or written
    ├── TargetError (ValueError)        a target expression is malformed
    ├── ControlError                    the running master's control socket failed
    └── PublishDaemonError              the publish port's process could not start

Lower-layer errors (``OSError``, ``sqlite3.Error``) are translated at the boundary
and kept as ``__cause__``.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "ControlError",
    "JobCacheError",
    "KeyNotFound",
    "KeyStoreError",
    "MasterError",
    "PublishDaemonError",
    "TargetError",
]


class MasterError(Exception):
    """Root of the cloud master's own errors."""


class ConfigError(MasterError, ValueError):
    """The master configuration is invalid."""


class KeyStoreError(MasterError):
    """The pki directory cannot be read or written, or a key is malformed."""


class KeyNotFound(KeyStoreError, KeyError):
    """No key is stored for that minion id in the states asked for."""

    def __str__(self) -> str:
        # KeyError.__str__ quotes its argument; keep the plain message.
        return str(self.args[0]) if self.args else ""


class JobCacheError(MasterError):
    """The job cache cannot be read or written (full disk, read-only, corrupt)."""


class TargetError(MasterError, ValueError):
    """A target expression is malformed."""


class ControlError(MasterError):
    """Talking to the running master over its control socket failed."""


class PublishDaemonError(MasterError):
    """The publish daemon could not start (its port is taken, say)."""
