"""What each crypto backend costs: the minion's (pycryptodomex) beside the master's (cryptography).

    .venv/bin/python -m tools.bench.crypto [--runs 20]

Prints, per backend: RSA-2048 key generation (a minion's first start; mean), one OAEP
decryption (a sign-in), one PKCS#1 v1.5 signature check (a signed publish), and
Crypticle encrypt + decrypt of a 200-byte message (a job and its return).
Medians otherwise; figures only, never a pass or fail.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from edge_minion.protocol import crypto_dome, crypto_openssl
from edge_minion.protocol.crypticle import Crypticle, generate_key_string
from edge_minion.protocol.crypto import CryptoBackend

BACKENDS: dict[str, CryptoBackend] = {"pycryptodomex (minion)": crypto_dome,
                                      "cryptography (master)": crypto_openssl}


def _times_ms(fn: Callable[[], object], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return times


def _median_ms(fn: Callable[[], object], runs: int) -> float:
    return statistics.median(_times_ms(fn, runs))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)
    pem = crypto_openssl.private_pem(crypto_openssl.generate_private_key(2048))
    master_pub = crypto_openssl.load_public(crypto_openssl.public_pem(crypto_openssl.load_private(pem)))
    blob = crypto_openssl.oaep_encrypt(master_pub, generate_key_string().encode())
    signed = b"p" * 300
    sig = crypto_openssl.sign(crypto_openssl.load_private(pem), signed)
    message = {"fun": "test.ping", "jid": "20261123000000000000", "arg": [], "return": True, "pad": "x" * 120}
    key = generate_key_string()
    print(f"{'backend':26} {'keygen ms*':>10} {'OAEP dec ms':>12} {'verify ms':>10} {'crypticle µs':>13}")
    for name, crypto in BACKENDS.items():
        priv = crypto.load_private(pem)
        pub = crypto.load_public(crypto.public_pem(priv))
        box = Crypticle(key, crypto)
        # prime search makes single key generations vary several-fold: the mean says what a first start costs
        keygen = statistics.mean(_times_ms(lambda c=crypto: c.generate_private_key(2048), args.runs))
        dec = _median_ms(lambda c=crypto, k=priv: c.oaep_decrypt(k, blob), args.runs)
        ver = _median_ms(lambda c=crypto, p=pub: c.verify(p, signed, sig), args.runs)
        box_ms = _median_ms(lambda b=box: b.loads(b.dumps(message), check_serial=False), args.runs * 10)
        print(f"{name:26} {keygen:10.1f} {dec:12.2f} {ver:10.3f} {box_ms * 1000:13.1f}")
    print("* mean; the other columns are medians")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
