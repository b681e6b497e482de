"""The minion's crypto backend: ``pycryptodomex``.

Satisfies :class:`edge_minion.protocol.crypto.CryptoBackend`. A minion does one
RSA decryption per sign-in and AES for each message; pycryptodomex does both
with a few small C libraries, where ``cryptography`` maps its own OpenSSL (about
8 MiB resident, a fifth of an idle minion). Private-key operations are slower
than OpenSSL's (milliseconds), which a minion signing in once does not notice.
"""

from __future__ import annotations

from typing import Any

from Cryptodome.Cipher import AES, PKCS1_OAEP
from Cryptodome.Hash import SHA1, SHA224
from Cryptodome.PublicKey import RSA
from Cryptodome.Signature import pkcs1_15

from edge_minion.protocol.errors import AuthenticationFailed, LocalProtocolError, MalformedMessage
from edge_minion.protocol.rsa import clean_key

__all__ = [
    "aes_cbc", "generate_private_key", "load_private", "load_public", "oaep_decrypt", "oaep_encrypt",
    "private_numbers", "private_pem", "public_numbers", "public_pem", "sign", "verify",
]


def _hash(algo: str) -> Any:
    return SHA224 if algo.endswith("SHA224") else SHA1


def generate_private_key(bits: int = 2048) -> RSA.RsaKey:
    return RSA.generate(bits, e=65537)


def private_pem(key: RSA.RsaKey) -> bytes:
    """``BEGIN RSA PRIVATE KEY`` (PKCS#1), as Salt writes it."""
    pem: bytes = key.export_key(format="PEM", pkcs=1)
    return pem + b"\n"


def public_pem(key: RSA.RsaKey) -> str:
    """``BEGIN PUBLIC KEY`` (SubjectPublicKeyInfo), clean_key'd."""
    return clean_key(key.public_key().export_key(format="PEM"))


def load_private(pem: bytes) -> RSA.RsaKey:
    try:
        key = RSA.import_key(pem)
    except (ValueError, IndexError, TypeError) as exc:
        raise LocalProtocolError(f"unreadable private key: {exc}") from exc
    if not key.has_private():
        raise LocalProtocolError("private key file holds a public key")
    return key


def load_public(pem: str | bytes) -> RSA.RsaKey:
    try:
        key = RSA.import_key(pem)
    except (ValueError, IndexError, TypeError) as exc:
        raise MalformedMessage(f"unreadable public key: {exc}") from exc
    return key.public_key()


def oaep_encrypt(pub: RSA.RsaKey, data: bytes, algo: str = "OAEP-SHA1") -> bytes:
    out: bytes = PKCS1_OAEP.new(pub, hashAlgo=_hash(algo)).encrypt(data)
    return out


def oaep_decrypt(key: RSA.RsaKey, data: bytes, algo: str = "OAEP-SHA1") -> bytes:
    try:
        out: bytes = PKCS1_OAEP.new(key, hashAlgo=_hash(algo)).decrypt(data)
    except (ValueError, TypeError) as exc:
        raise AuthenticationFailed("RSA-OAEP decryption failed") from exc
    return out


def sign(key: RSA.RsaKey, data: bytes, algo: str = "PKCS1v15-SHA1") -> bytes:
    out: bytes = pkcs1_15.new(key).sign(_hash(algo).new(data))
    return out


def verify(pub: RSA.RsaKey, data: bytes, signature: bytes, algo: str = "PKCS1v15-SHA1") -> None:
    """Raise AuthenticationFailed unless ``signature`` is valid."""
    try:
        pkcs1_15.new(pub).verify(_hash(algo).new(data), signature)
    except (ValueError, TypeError) as exc:
        raise AuthenticationFailed("RSA signature check failed") from exc


def private_numbers(key: RSA.RsaKey) -> tuple[int, int]:
    return int(key.n), int(key.d)


def public_numbers(pub: RSA.RsaKey) -> tuple[int, int]:
    return int(pub.n), int(pub.e)


class _AesCbc:
    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        self._key = key

    def encrypt(self, iv: bytes, data: bytes) -> bytes:
        out: bytes = AES.new(self._key, AES.MODE_CBC, iv=iv).encrypt(data)
        return out

    def decrypt(self, iv: bytes, data: bytes) -> bytes:
        try:
            out: bytes = AES.new(self._key, AES.MODE_CBC, iv=iv).decrypt(data)
        except ValueError as exc:  # not whole blocks
            raise MalformedMessage(f"AES-CBC: {exc}") from exc
        return out


def aes_cbc(key: bytes) -> _AesCbc:
    if len(key) not in AES.key_size:  # checked once, as cryptography's AES() does
        raise MalformedMessage(f"AES key of {len(key)} bytes")
    return _AesCbc(key)
