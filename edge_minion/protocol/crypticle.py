"""Salt's symmetric envelope ("Crypticle"): AES-192-CBC, then HMAC-SHA256.

Key string: base64 of 56 random bytes = 24-byte AES key + 32-byte HMAC key.
Ciphertext: IV (16) || CBC(PKCS#7-padded plaintext) || HMAC(IV || CBC).
Framing: plaintext is ``b"pickle::"`` + optional 32-hex nonce + msgpack(obj).
"""

from __future__ import annotations

import base64
import hmac
import secrets
from collections.abc import Callable
from typing import Any

from edge_minion.protocol import payload
from edge_minion.protocol.crypto import CryptoBackend
from edge_minion.protocol.errors import (
    AuthenticationFailed,
    MalformedMessage,
    ReplayedMessage,
)

PICKLE_PREFIX = b"pickle::"
AES_KEY_SIZE = 24
HMAC_KEY_SIZE = 32
SIG_SIZE = 32


def generate_key_string(entropy: Callable[[int], bytes] = secrets.token_bytes) -> str:
    """A fresh 76-character key string."""
    return base64.b64encode(entropy(AES_KEY_SIZE + HMAC_KEY_SIZE)).decode()


class Crypticle:
    """Encrypt and authenticate with one key string; tracks publish serials.

    ``crypto`` supplies AES (:mod:`~edge_minion.protocol.crypto`); HMAC-SHA256 is the standard library's.
    """

    def __init__(self, key_string: str, crypto: CryptoBackend,
                 entropy: Callable[[int], bytes] = secrets.token_bytes) -> None:
        try:
            raw = base64.b64decode(key_string, validate=True)
        except (ValueError, TypeError) as exc:
            raise MalformedMessage("key string is not base64") from exc
        if len(raw) != AES_KEY_SIZE + HMAC_KEY_SIZE:
            raise MalformedMessage(f"key string decodes to {len(raw)} bytes, expected 56")
        self.key_string = key_string
        self._aes = raw[:AES_KEY_SIZE]
        self._hmac = raw[AES_KEY_SIZE:]
        self._cipher = crypto.aes_cbc(self._aes)
        self._entropy = entropy
        self.last_serial = 0

    def encrypt(self, data: bytes) -> bytes:
        pad = 16 - len(data) % 16
        data = data + bytes([pad]) * pad
        iv = self._entropy(16)
        body = iv + self._cipher.encrypt(iv, data)
        return body + hmac.digest(self._hmac, body, "sha256")

    def decrypt(self, data: bytes) -> bytes:
        if not isinstance(data, bytes) or len(data) < 16 + 16 + SIG_SIZE or (len(data) - SIG_SIZE) % 16:
            raise AuthenticationFailed("ciphertext has an impossible length")
        body, sig = data[:-SIG_SIZE], data[-SIG_SIZE:]
        if not hmac.compare_digest(hmac.digest(self._hmac, body, "sha256"), sig):
            raise AuthenticationFailed("HMAC check failed")
        plain = self._cipher.decrypt(body[:16], body[16:])
        pad = plain[-1]
        if not 1 <= pad <= 16 or plain[-pad:] != bytes([pad]) * pad:
            raise MalformedMessage("bad padding")
        return plain[:-pad]

    def dumps(self, obj: Any, nonce: str | None = None) -> bytes:
        prefix = PICKLE_PREFIX + (nonce.encode() if nonce else b"")
        return self.encrypt(prefix + payload.dumps(obj))

    def loads(self, data: bytes, nonce: str | None = None, check_serial: bool = True) -> Any:
        """Decrypt and unpack; enforce the nonce and the increasing ``serial``."""
        plain = self.decrypt(data)
        if not plain.startswith(PICKLE_PREFIX):
            raise MalformedMessage("decrypted payload lacks the pickle:: prefix")
        plain = plain[len(PICKLE_PREFIX) :]
        if nonce is not None:
            got, plain = plain[:32], plain[32:]
            if not hmac.compare_digest(got, nonce.encode()):
                raise AuthenticationFailed("reply nonce does not match the request")
        obj = payload.loads(plain)
        if check_serial and isinstance(obj, dict) and "serial" in obj:
            serial = obj.pop("serial")
            if not isinstance(serial, int) or serial <= self.last_serial:
                raise ReplayedMessage(f"serial {serial!r} not above {self.last_serial}")
            self.last_serial = serial
        return obj
