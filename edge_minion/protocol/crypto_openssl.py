"""The master's crypto backend: ``cryptography`` (OpenSSL).

Satisfies :class:`edge_minion.protocol.crypto.CryptoBackend`. The master needs
OpenSSL's speed: after a restart it answers thousands of sign-ins, each an RSA
decryption, two encryptions and a signature. ``cryptography`` is the ``master``
extra (``pip install 'edgefleet[master]'``); a minion never imports this module.
"""

from __future__ import annotations

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError("the master needs the cryptography package: pip install 'edgefleet[master]'") from exc

from edge_minion.protocol.errors import AuthenticationFailed, LocalProtocolError, MalformedMessage
from edge_minion.protocol.rsa import clean_key

__all__ = [
    "aes_cbc", "generate_private_key", "load_private", "load_public", "oaep_decrypt", "oaep_encrypt",
    "private_numbers", "private_pem", "public_numbers", "public_pem", "sign", "verify",
]


def _hash(algo: str) -> hashes.HashAlgorithm:
    return hashes.SHA224() if algo.endswith("SHA224") else hashes.SHA1()


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
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise MalformedMessage(f"unreadable public key: {exc}") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise MalformedMessage("public key is not RSA")
    return key


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


def private_numbers(key: rsa.RSAPrivateKey) -> tuple[int, int]:
    nums = key.private_numbers()
    return nums.public_numbers.n, nums.d


def public_numbers(pub: rsa.RSAPublicKey) -> tuple[int, int]:
    nums = pub.public_numbers()
    return nums.n, nums.e


class _AesCbc:
    __slots__ = ("_algorithm",)

    def __init__(self, key: bytes) -> None:
        try:
            self._algorithm = algorithms.AES(key)  # built once: constructing it costs more than a small message
        except ValueError as exc:
            raise MalformedMessage(f"AES key of {len(key)} bytes") from exc

    def encrypt(self, iv: bytes, data: bytes) -> bytes:
        enc = Cipher(self._algorithm, modes.CBC(iv)).encryptor()
        return enc.update(data) + enc.finalize()

    def decrypt(self, iv: bytes, data: bytes) -> bytes:
        dec = Cipher(self._algorithm, modes.CBC(iv)).decryptor()
        return dec.update(data) + dec.finalize()


def aes_cbc(key: bytes) -> _AesCbc:
    return _AesCbc(key)
