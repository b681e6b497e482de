"""What the protocol needs from a crypto library: RSA as Salt uses it, and AES-CBC.

Two libraries provide it, as modules that satisfy :class:`CryptoBackend`:

- :mod:`edge_minion.protocol.crypto_openssl` (``cryptography``): fast private-key
  operations, for the master, which signs in thousands of minions after a restart.
- :mod:`edge_minion.protocol.crypto_dome` (``pycryptodomex``): small, for the minion.
  ``cryptography``'s Rust module carries its own OpenSSL, about 8 MiB resident, for
  one RSA decryption per sign-in; pycryptodomex's C parts are under 1 MiB.

Both write the same bytes on the wire; the tests run each against the other and
against Salt. Keys are the library's own objects, opaque to the callers, which
only pass them back to the backend that made them.
"""

from __future__ import annotations

from typing import Any, Protocol


class AesCbc(Protocol):
    """AES-CBC with one fixed key; ``data`` is already padded to whole blocks."""

    def encrypt(self, iv: bytes, data: bytes) -> bytes: ...

    def decrypt(self, iv: bytes, data: bytes) -> bytes: ...


class CryptoBackend(Protocol):
    """The RSA and AES operations the sans-IO sessions call."""

    def generate_private_key(self, bits: int = 2048) -> Any: ...

    def private_pem(self, key: Any) -> bytes:
        """``BEGIN RSA PRIVATE KEY`` (PKCS#1), as Salt writes it."""

    def public_pem(self, key: Any) -> str:
        """``BEGIN PUBLIC KEY`` (SubjectPublicKeyInfo) of a private or public key, clean_key'd."""

    def load_private(self, pem: bytes) -> Any:
        """Raises LocalProtocolError when the key is unreadable or not RSA."""

    def load_public(self, pem: str | bytes) -> Any:
        """Raises MalformedMessage when the key is unreadable or not RSA."""

    def oaep_encrypt(self, pub: Any, data: bytes, algo: str = "OAEP-SHA1") -> bytes: ...

    def oaep_decrypt(self, key: Any, data: bytes, algo: str = "OAEP-SHA1") -> bytes:
        """Raises AuthenticationFailed when the ciphertext does not decrypt."""

    def sign(self, key: Any, data: bytes, algo: str = "PKCS1v15-SHA1") -> bytes: ...

    def verify(self, pub: Any, data: bytes, signature: bytes, algo: str = "PKCS1v15-SHA1") -> None:
        """Raises AuthenticationFailed unless ``signature`` is valid."""

    def private_numbers(self, key: Any) -> tuple[int, int]:
        """``(n, d)``, for X9.31, which neither library offers."""

    def public_numbers(self, pub: Any) -> tuple[int, int]:
        """``(n, e)``."""

    def aes_cbc(self, key: bytes) -> AesCbc: ...
