"""Read-only peeks into the image's ext4 root file system with ``debugfs`` (e2fsprogs).

``debugfs`` opens the image file at the partition's offset (``IMG?offset=N``) in
read-only mode: no mount, no root. Only what ``fleet-image`` needs is read: the OS
release, the Python version and the architecture, to choose the first-boot
mechanism and the wheels of the offline bundle.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cloud_master.image.errors import ImageError, ToolMissing

__all__ = ["RootInfo", "inspect_root"]

_PYTHON_DIR = re.compile(r"^python3\.(\d+)$")
#: Debian multiarch directory -> the machine name pip's platform tags use.
_MULTIARCH = {"aarch64-linux-gnu": "aarch64", "arm-linux-gnueabihf": "armv7l", "x86_64-linux-gnu": "x86_64"}


@dataclass(frozen=True)
class RootInfo:
    codename: str | None  # VERSION_CODENAME of os-release ("bookworm", "trixie")
    python: str | None  # "3.11"
    arch: str | None  # "aarch64", "armv7l"


class _Debugfs:
    def __init__(self, image: Path, offset: int) -> None:
        if shutil.which("debugfs") is None:
            raise ToolMissing("debugfs (e2fsprogs) is needed to read the root partition")
        self.device = f"{image}?offset={offset}"

    def _run(self, request: str) -> tuple[bytes, str]:
        try:
            proc = subprocess.run(["debugfs", "-R", request, self.device], capture_output=True, timeout=120)
        except OSError as exc:
            raise ImageError(f"cannot run debugfs: {exc}") from exc
        # debugfs exits 0 even when a lookup fails; its complaint is on stderr.
        errors = [line for line in proc.stderr.decode("utf-8", "replace").splitlines()
                  if line.strip() and not line.startswith("debugfs ")]
        if proc.returncode != 0 and not errors:
            errors = [f"exit status {proc.returncode}"]
        return proc.stdout, "; ".join(errors)

    def cat(self, path: str) -> str | None:
        data, error = self._run(f"cat {path}")
        return None if error else data.decode("utf-8", "replace")

    def listdir(self, path: str) -> list[str]:
        data, error = self._run(f"ls -p {path}")
        if error:
            return []
        # "ls -p" lines: /inode/mode/uid/gid/name/size/
        names = [line.split("/")[5] for line in data.decode("utf-8", "replace").splitlines()
                 if line.count("/") >= 6]
        return [n for n in names if n not in (".", "..")]


def _os_release_codename(text: str) -> str | None:
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "VERSION_CODENAME" and value.strip().strip("\"'"):
            return value.strip().strip("\"'")
    return None


def inspect_root(image: Path, offset: int) -> RootInfo:
    """Codename, Python version and architecture of the root file system at ``offset``.

    Any of them is None when it cannot be found (the caller falls back to defaults
    or to the operator's ``--python``/``--arch``).

    Raises:
        ToolMissing: debugfs is not installed.
    """
    fs = _Debugfs(image, offset)
    release = fs.cat("/usr/lib/os-release") or fs.cat("/etc/os-release") or ""
    lib = fs.listdir("/usr/lib")
    versions = sorted(int(m.group(1)) for m in map(_PYTHON_DIR.match, lib) if m)
    arches = [arch for name, arch in _MULTIARCH.items() if name in lib]  # 64-bit first
    return RootInfo(codename=_os_release_codename(release),
                    python=f"3.{versions[-1]}" if versions else None,
                    arch=arches[0] if arches else None)
