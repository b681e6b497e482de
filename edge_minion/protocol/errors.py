"""Protocol errors, split by whose fault they are (h11's convention).

Tree::

    ProtocolError
    ├── LocalProtocolError          we were asked to do something the protocol forbids
    └── RemoteProtocolError         the peer sent something malformed or unacceptable
        ├── MalformedMessage        not decodable (msgpack, framing, missing fields)
        ├── UnsupportedVersion      envelope version below the minimum
        ├── MessageTooLarge         over the configured size limit
        ├── AuthenticationFailed    bad HMAC, bad signature, bad token, wrong key
        └── ReplayedMessage         a publish serial or a nonce seen before
"""

from __future__ import annotations


class ProtocolError(Exception):
    """Root of the protocol's errors."""


class LocalProtocolError(ProtocolError):
    """Our own misuse of the protocol."""


class RemoteProtocolError(ProtocolError):
    """The peer broke the protocol; ``reason`` is a short counter key."""

    reason = "remote"


class MalformedMessage(RemoteProtocolError):
    reason = "malformed"


class UnsupportedVersion(RemoteProtocolError):
    reason = "version"


class MessageTooLarge(RemoteProtocolError):
    reason = "oversized"


class AuthenticationFailed(RemoteProtocolError):
    reason = "auth"


class ReplayedMessage(RemoteProtocolError):
    reason = "replay"
