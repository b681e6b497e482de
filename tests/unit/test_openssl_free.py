"""The minion imports asyncio, hashlib and hmac without mapping OpenSSL, and loses nothing it uses."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60)


def _maps_openssl() -> str:
    return "any(n in open('/proc/self/maps').read() for n in ('libcrypto', 'libssl', '_ssl', '_hashlib'))"


def test_asyncio_hashlib_and_hmac_work_without_openssl_mapped() -> None:
    proc = _run(f"""
        from edge_minion.openssl_free import import_without_openssl
        assert import_without_openssl() is True
        import asyncio, hashlib, hmac, sys
        assert not {_maps_openssl()}, "OpenSSL was mapped"
        assert hashlib.sha256(b"abc").hexdigest().startswith("ba7816bf")
        assert hmac.digest(b"key", b"msg", "sha256").hex().startswith("2d93cbc1")
        assert hashlib.blake2b(b"", digest_size=16).hexdigest() == "cae66941d9efbd404e4d88758ea67670"
        async def main():
            r, w = await asyncio.open_connection(sock=__import__("socket").socketpair()[0])
            w.close()
            return 7
        assert asyncio.run(main()) == 7
        assert import_without_openssl() is False  # a second call changes nothing
        import ssl  # a device module that wants TLS still gets it, on demand
        assert {_maps_openssl()}
        print("ok")
    """)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_too_late_when_asyncio_is_already_imported() -> None:
    proc = _run("""
        import asyncio
        from edge_minion.openssl_free import import_without_openssl
        assert import_without_openssl() is False
        import ssl
        print("ok")
    """)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
