"""Start the minion without mapping OpenSSL, which it never uses.

Three standard modules load OpenSSL's ``libcrypto`` (and ``libssl``) for things
the minion does not do: ``asyncio`` imports ``ssl`` to offer TLS transports, and
``hashlib`` and ``hmac`` prefer OpenSSL's digests to CPython's own. The minion's
crypto is pycryptodomex (:mod:`edge_minion.protocol.crypto_dome`) and its link
is ZeroMQ, so on an idle minion those libraries are about 4 MiB of resident
memory, a tenth of it, for nothing.

:func:`import_without_openssl` imports those three modules while ``ssl`` and
``_hashlib`` are marked absent, then removes the marks. asyncio then runs
without TLS transports, and hashlib/hmac use CPython's built-in SHA-1, SHA-2,
SHA-3, BLAKE2 and MD5. A device module that imports ``ssl`` later (``urllib``
with https, say) still gets it, and OpenSSL is mapped from then on.
"""

from __future__ import annotations

import sys

_OPENSSL = ("ssl", "_ssl", "_hashlib")


def import_without_openssl() -> bool:
    """Import asyncio, hashlib and hmac without OpenSSL; False if it is too late (already mapped).

    Call it first thing in a process, before anything imports those modules.
    """
    if any(name in sys.modules for name in (*_OPENSSL, "asyncio", "hashlib", "hmac")):
        return False
    for name in _OPENSSL:
        sys.modules[name] = None  # type: ignore[assignment]  # the import system's "known absent" mark
    try:
        import asyncio  # noqa: F401
        import hashlib  # noqa: F401
        import hmac  # noqa: F401
    finally:
        for name in _OPENSSL:
            if sys.modules.get(name, ...) is None:
                del sys.modules[name]
    return True
