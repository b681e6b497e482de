"""The minion's key pair and the pinned master key on disk (Salt's pki layout)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from edge_minion.errors import MinionKeyError
from edge_minion.protocol import crypto_dome

log = logging.getLogger(__name__)

PRIVATE = "minion.pem"
PUBLIC = "minion.pub"
MASTER_PUB = "minion_master.pub"


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write via a temporary file, fsync, then rename over ``path``."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def load_or_create(pki_dir: Path, bits: int = 2048) -> bytes:
    """The minion's private key PEM, generated (RSA-2048) on first start."""
    try:
        pki_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        key_path = pki_dir / PRIVATE
        if key_path.exists():
            return key_path.read_bytes()
        log.info("generating a %d-bit key pair in %s", bits, pki_dir)
        key = crypto_dome.generate_private_key(bits)
        pem = crypto_dome.private_pem(key)
        write_atomic(key_path, pem, 0o400)
        write_atomic(pki_dir / PUBLIC, crypto_dome.public_pem(key).encode() + b"\n")
        return pem
    except OSError as exc:
        raise MinionKeyError(f"cannot read or create the minion key in {pki_dir}: {exc}") from exc


def read_master_pub(pki_dir: Path) -> str | None:
    path = pki_dir / MASTER_PUB
    try:
        return path.read_text() if path.exists() else None
    except OSError as exc:
        raise MinionKeyError(f"cannot read {path}: {exc}") from exc


def pin_master_pub(pki_dir: Path, pem: str) -> None:
    """Remember the master's key (trust on first use)."""
    try:
        write_atomic(pki_dir / MASTER_PUB, pem.encode() + b"\n")
    except OSError as exc:
        raise MinionKeyError(f"cannot write {pki_dir / MASTER_PUB}: {exc}") from exc
