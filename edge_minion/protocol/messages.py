"""Events the protocol core hands to its shells (frozen dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Salt's failure reply to any request it cannot decode or authenticate.
BAD_LOAD = "bad load"


# ---- minion side: outcomes of an authentication attempt ------------------------------------

@dataclass(frozen=True)
class AuthAccepted:
    publish_port: int
    master_pub: str
    first_contact: bool  # True when the master key was learned now (trust on first use)
    edgefleet: bool = False  # the master is an edgefleet master (holds jobs for offline minions)


@dataclass(frozen=True)
class AuthPending:
    """The key is waiting for acceptance on the master; retry later."""


@dataclass(frozen=True)
class AuthRejected:
    """The master rejected (or denied) our key."""


@dataclass(frozen=True)
class AuthFull:
    """The master refuses more minions (``max_minions``)."""


AuthOutcome = AuthAccepted | AuthPending | AuthRejected | AuthFull


# ---- master side: requests arriving on the request port -----------------------------------

@dataclass(frozen=True)
class AuthRequest:
    minion_id: str
    pub: str
    nonce: str
    token: bytes | None
    autosign_grains: dict[str, Any] = field(default_factory=dict)
    enc_algo: str = "OAEP-SHA1"
    sig_algo: str = "PKCS1v15-SHA1"
    version: int = 3


@dataclass(frozen=True)
class AesEnvelope:
    """An encrypted (v3) request before it is opened with the minion's session key."""

    minion_id: str
    load: bytes
    enc_algo: str
    sig_algo: str
    version: int


@dataclass(frozen=True)
class AesRequest:
    """A decrypted, token-checked request from an accepted minion."""

    minion_id: str
    cmd: str
    load: dict[str, Any]
    nonce: str
    ts: int | None = None


MasterRequest = AuthRequest | AesEnvelope
