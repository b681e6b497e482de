"""Errors of the edge minion.

Tree::

    MinionError
    ├── ConfigError (ValueError)     the configuration is invalid
    ├── KeyError_ -> MinionKeyError  the minion's key pair cannot be read or written
    ├── AuthError                    the master refused us or proved to be someone else
    │   ├── AuthRejected             our key is rejected (or denied) on the master
    │   └── MasterKeyMismatch        the master's key differs from the pinned one
    └── ChannelError (ConnectionError)   a request to the master failed
        └── RequestTimeout (TimeoutError)
"""

from __future__ import annotations


class MinionError(Exception):
    """Root of the minion's own errors."""


class ConfigError(MinionError, ValueError):
    """The minion configuration is invalid."""


class MinionKeyError(MinionError):
    """The minion's key pair cannot be read or written."""


class AuthError(MinionError):
    """Authentication with the master failed."""


class AuthRejected(AuthError):
    """The master rejected our key."""


class MasterKeyMismatch(AuthError):
    """The master presented a key other than the pinned one."""


class ChannelError(MinionError, ConnectionError):
    """A request to the master failed."""


class RequestTimeout(ChannelError, TimeoutError):
    """The master did not answer a request in time."""


class ConnectionLost(ChannelError):
    """The connection carrying a request dropped, so no answer can come (a REQ socket never resends)."""
