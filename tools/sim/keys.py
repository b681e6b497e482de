"""Key pairs for simulated minions: generated once, cached on disk, preseeded on a master.

    python -m tools.sim.keys --dir DIR --count 10000 [--bits 1024] [--preseed MASTER_STATE_DIR]

Simulated minions use 1024-bit keys by default so that ten thousand can be
made in about two minutes; the master's own key and every code path are the
same as with 2048-bit keys (OAEP-SHA1 fits a 76-byte key string in both).
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from edge_minion.protocol import crypto_openssl


def minion_id(index: int) -> str:
    return f"sim-{index:05d}"


def _make(args: tuple[Path, int, int]) -> None:
    directory, index, bits = args
    path = directory / f"{minion_id(index)}.pem"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(crypto_openssl.private_pem(crypto_openssl.generate_private_key(bits)))
        os.replace(tmp, path)


def ensure_keys(directory: Path, count: int, bits: int = 1024) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    missing = [(directory, i, bits) for i in range(count) if not (directory / f"{minion_id(i)}.pem").exists()]
    if missing:
        with ProcessPoolExecutor() as pool:
            list(pool.map(_make, missing, chunksize=64))


def load_keys(directory: Path, first: int, count: int) -> list[tuple[str, bytes]]:
    return [(minion_id(i), (directory / f"{minion_id(i)}.pem").read_bytes()) for i in range(first, first + count)]


def preseed(directory: Path, count: int, master_state_dir: Path) -> None:
    """Write the public keys straight into the master's accepted directory."""
    accepted = master_state_dir / "pki" / "minions"
    accepted.mkdir(parents=True, exist_ok=True)
    for mid, pem in load_keys(directory, 0, count):
        (accepted / mid).write_text(crypto_openssl.public_pem(crypto_openssl.load_private(pem)))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--dir", required=True, type=Path)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--bits", type=int, default=1024)
    p.add_argument("--preseed", type=Path, help="master state dir to register the keys in")
    args = p.parse_args(argv)
    ensure_keys(args.dir, args.count, args.bits)
    if args.preseed:
        preseed(args.dir, args.count, args.preseed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
