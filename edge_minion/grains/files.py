"""Reading files of a (possibly fake) root tree: ``/proc``, ``/etc``, ``/sys``.

Every grain source takes ``root`` so that tests hand it a directory laid out
like ``/`` (a Pi 4's ``/proc/cpuinfo``, a laptop's ``/etc/os-release``) instead
of patching ``open``.
"""

from __future__ import annotations

from pathlib import Path


def under(root: Path, path: str) -> Path:
    """``path`` (absolute, as on the device) inside ``root``."""
    return root / path.lstrip("/")


def read_text(root: Path, *paths: str) -> str | None:
    """The text of the first of ``paths`` that exists under ``root``; ``None`` if none does.

    Raises:
        OSError: a file exists but cannot be read (permissions, I/O error).
    """
    for path in paths:
        try:
            return under(root, path).read_text(encoding="utf-8", errors="replace")
        except (FileNotFoundError, NotADirectoryError):
            continue
    return None


def read_bytes(root: Path, path: str) -> bytes | None:
    """The bytes of ``path`` under ``root``; ``None`` if it does not exist."""
    try:
        return under(root, path).read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None


def read_dt_string(root: Path, path: str) -> str | None:
    """A device-tree string property: text up to the first NUL, stripped; ``None`` if absent or empty."""
    data = read_bytes(root, path)
    if data is None:
        return None
    text = data.split(b"\0", 1)[0].decode("utf-8", errors="replace").strip()
    return text or None
