"""RSA as Salt uses it: PEM formats, OAEP, PKCS#1 v1.5 signatures, X9.31.

Salt's ``tok`` and the auth reply's ``sig`` use raw RSA with ANSI X9.31
padding (``RSA_private_encrypt`` with ``RSA_X931_PADDING`` in libcrypto),
which ``cryptography`` does not offer; it is written out here with integer
arithmetic. The result is deterministic, so callers compute ``tok`` once.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from edge_minion.protocol.errors import AuthenticationFailed, LocalProtocolError, MalformedMessage

EncAlgo = Literal["OAEP-SHA1", "OAEP-SHA224"]
SigAlgo = Literal["PKCS1v15-SHA1", "PKCS1v15-SHA224"]
ENC_ALGOS: tuple[str, ...] = ("OAEP-SHA1", "OAEP-SHA224")
SIG_ALGOS: tuple[str, ...] = ("PKCS1v15-SHA1", "PKCS1v15-SHA224")


def _hash(name: str) -> hashes.HashAlgorithm:
    return hashes.SHA224() if name.endswith("SHA224") else hashes.SHA1()


def clean_key(pem: str | bytes) -> str:
    """Salt's canonical public-key text: stripped, ``\\n`` endings, no final newline."""
    text = pem.decode() if isinstance(pem, bytes) else pem
    return "\n".join(line.rstrip("\r") for line in text.strip().splitlines())


def generate_private_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def private_pem(key: rsa.RSAPrivateKey) -> bytes:
    """``BEGIN RSA PRIVATE KEY`` (TraditionalOpenSSL), as Salt writes it."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def public_pem(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> str:
    """``BEGIN PUBLIC KEY`` (SubjectPublicKeyInfo), clean_key'd."""
    pub = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    raw = pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return clean_key(raw)


def load_private(pem: bytes) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise LocalProtocolError(f"unreadable private key: {exc}") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise LocalProtocolError("private key is not RSA")
    return key


def load_public(pem: str | bytes) -> rsa.RSAPublicKey:
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        if b"BEGIN RSA PUBLIC KEY" in data:
            key = serialization.load_pem_public_key(data)
        else:
            key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise MalformedMessage(f"unreadable public key: {exc}") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise MalformedMessage("public key is not RSA")
    return key


def fingerprint(pem: str | bytes, hash_type: str = "sha256") -> str:
    """Salt's key fingerprint: hash of the clean PEM text, hex pairs joined by ``:``."""
    digest = hashlib.new(hash_type, clean_key(pem).encode()).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def oaep_encrypt(pub: rsa.RSAPublicKey, data: bytes, algo: str = "OAEP-SHA1") -> bytes:
    h = _hash(algo)
    return pub.encrypt(data, padding.OAEP(mgf=padding.MGF1(h), algorithm=h, label=None))


def oaep_decrypt(key: rsa.RSAPrivateKey, data: bytes, algo: str = "OAEP-SHA1") -> bytes:
    h = _hash(algo)
    try:
        return key.decrypt(data, padding.OAEP(mgf=padding.MGF1(h), algorithm=h, label=None))
    except (ValueError, TypeError) as exc:
        raise AuthenticationFailed("RSA-OAEP decryption failed") from exc


def sign(key: rsa.RSAPrivateKey, data: bytes, algo: str = "PKCS1v15-SHA1") -> bytes:
    return key.sign(data, padding.PKCS1v15(), _hash(algo))


def verify(pub: rsa.RSAPublicKey, data: bytes, signature: bytes, algo: str = "PKCS1v15-SHA1") -> None:
    """Raise AuthenticationFailed unless ``signature`` is valid."""
    try:
        pub.verify(signature, data, padding.PKCS1v15(), _hash(algo))
    except (InvalidSignature, ValueError, TypeError) as exc:
        raise AuthenticationFailed("RSA signature check failed") from exc


def _byte_len(n: int) -> int:
    return (n.bit_length() + 7) // 8


def x931_encrypt(key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    """Raw RSA private operation with X9.31 padding (Salt's ``tok`` and auth ``sig``)."""
    priv = key.private_numbers()
    n, d = priv.public_numbers.n, priv.d
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


def x931_decrypt(pub: rsa.RSAPublicKey, data: bytes) -> bytes:
    """Undo :func:`x931_encrypt` with the public key; AuthenticationFailed if the padding is wrong."""
    nums = pub.public_numbers()
    n, e = nums.n, nums.e
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
