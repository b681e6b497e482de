"""RSA as Salt uses it, the parts no crypto library offers: key text, fingerprints, X9.31.

Salt's ``tok`` and the auth reply's ``sig`` use raw RSA with ANSI X9.31
padding (``RSA_private_encrypt`` with ``RSA_X931_PADDING`` in libcrypto),
which neither ``cryptography`` nor ``pycryptodomex`` offers; it is written out
here with integer arithmetic on the key's numbers. The result is
deterministic, so callers compute ``tok`` once. The rest of RSA (PEM, OAEP,
PKCS#1 v1.5) is in the backends (:mod:`edge_minion.protocol.crypto`).
"""

from __future__ import annotations

import hashlib
from typing import Literal

from edge_minion.protocol.errors import AuthenticationFailed, LocalProtocolError

EncAlgo = Literal["OAEP-SHA1", "OAEP-SHA224"]
SigAlgo = Literal["PKCS1v15-SHA1", "PKCS1v15-SHA224"]
ENC_ALGOS: tuple[str, ...] = ("OAEP-SHA1", "OAEP-SHA224")
SIG_ALGOS: tuple[str, ...] = ("PKCS1v15-SHA1", "PKCS1v15-SHA224")


def clean_key(pem: str | bytes) -> str:
    """Salt's canonical public-key text: stripped, ``\\n`` endings, no final newline."""
    text = pem.decode() if isinstance(pem, bytes) else pem
    return "\n".join(line.rstrip("\r") for line in text.strip().splitlines())


def fingerprint(pem: str | bytes, hash_type: str = "sha256") -> str:
    """Salt's key fingerprint: hash of the clean PEM text, hex pairs joined by ``:``."""
    digest = hashlib.new(hash_type, clean_key(pem).encode()).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def _byte_len(n: int) -> int:
    return (n.bit_length() + 7) // 8


def x931_encrypt(private_numbers: tuple[int, int], data: bytes) -> bytes:
    """Raw RSA private operation with X9.31 padding (Salt's ``tok`` and auth ``sig``).

    ``private_numbers`` is ``(n, d)`` from the backend's :meth:`~CryptoBackend.private_numbers`.
    """
    n, d = private_numbers
    k = _byte_len(n)
    room = k - len(data) - 2
    if room < 0:
        raise LocalProtocolError("data too long for X9.31 padding")
    if room == 0:
        block = b"\x6a" + data + b"\xcc"
    else:
        block = b"\x6b" + b"\xbb" * (room - 1) + b"\xba" + data + b"\xcc"
    m = int.from_bytes(block, "big")
    s = pow(m, d, n)
    s = min(s, n - s)
    return s.to_bytes(k, "big")


def x931_decrypt(public_numbers: tuple[int, int], data: bytes) -> bytes:
    """Undo :func:`x931_encrypt` with ``(n, e)``; AuthenticationFailed if the padding is wrong."""
    n, e = public_numbers
    k = _byte_len(n)
    s = int.from_bytes(data, "big")
    if s >= n:
        raise AuthenticationFailed("X9.31 value out of range")
    r = pow(s, e, n)
    if r & 0xF != 0xC:
        r = n - r
    block = r.to_bytes(k, "big")
    if block[-1] != 0xCC:
        raise AuthenticationFailed("X9.31 trailer missing")
    if block[0] == 0x6A:
        return block[1:-1]
    if block[0] != 0x6B:
        raise AuthenticationFailed("X9.31 header wrong")
    i = 1
    while i < len(block) and block[i] == 0xBB:
        i += 1
    if i >= len(block) or block[i] != 0xBA:
        raise AuthenticationFailed("X9.31 padding wrong")
    return block[i + 1 : -1]
