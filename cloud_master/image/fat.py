"""The FAT boot partition inside an image file, through mtools (``mcopy -i IMG@@OFFSET``).

No mount, no loop device, no root: mtools reads and writes the file system
directly in the image file at the partition's byte offset. Paths are
partition-absolute with ``/`` separators (``"edgefleet/minion.yaml"``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from cloud_master.image.errors import ImageError, ToolMissing

__all__ = ["FatPartition"]

_TOOLS = ("mcopy", "mdir", "mmd", "mdel", "mdeltree")


class FatPartition:
    """One FAT file system at byte ``offset`` of ``image``.

    Raises (every method):
        ToolMissing: mtools is not installed.
        ImageError: mtools failed (the message carries its output).
    """

    def __init__(self, image: Path, offset: int) -> None:
        self.image = Path(image)
        self.offset = offset
        missing = [t for t in _TOOLS if shutil.which(t) is None]
        if missing:
            raise ToolMissing(f"mtools is needed to write the boot partition without mounting it "
                              f"(missing: {', '.join(missing)}; apt-get install mtools)")

    @property
    def _drive(self) -> str:
        return f"{self.image}@@{self.offset}"

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        env = {**os.environ, "MTOOLS_SKIP_CHECK": "1", "MTOOLS_NO_VFAT": "0"}
        try:
            proc = subprocess.run([tool, "-i", self._drive, *args], capture_output=True, env=env, timeout=600)
        except OSError as exc:
            raise ImageError(f"cannot run {tool}: {exc}") from exc
        if check and proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).decode("utf-8", "replace").strip()
            raise ImageError(f"{tool} {' '.join(args)} failed on {self.image} at offset {self.offset}: {detail}")
        return proc

    @staticmethod
    def _path(path: str) -> str:
        return "::/" + path.strip("/")

    def exists(self, path: str) -> bool:
        return self._run("mdir", "-b", self._path(path), check=False).returncode == 0

    def listdir(self, path: str = "") -> list[str]:
        """Names directly under ``path`` (files and directories, without ``.``/``..``)."""
        out = self._run("mdir", "-b", self._path(path)).stdout.decode("utf-8", "replace")
        names = [line.rstrip("/").rsplit("/", 1)[-1] for line in out.splitlines() if line.strip()]
        return [n for n in names if n not in (".", "..")]

    def read(self, path: str) -> bytes:
        return self._run("mcopy", "-n", self._path(path), "-").stdout

    def read_text(self, path: str) -> str:
        return self.read(path).decode("utf-8")

    def write(self, path: str, data: bytes) -> None:
        """Create or replace the file ``path`` (its directory must exist)."""
        import tempfile

        with tempfile.NamedTemporaryFile(prefix="fleet-image-") as tmp:
            tmp.write(data)
            tmp.flush()
            self._run("mcopy", "-o", tmp.name, self._path(path))

    def write_text(self, path: str, text: str) -> None:
        self.write(path, text.encode("utf-8"))

    def mkdir(self, path: str) -> None:
        if not self.exists(path):
            self._run("mmd", self._path(path))

    def copy_tree(self, local_dir: Path, path: str) -> None:
        """Copy the contents of ``local_dir`` into directory ``path`` (created if absent)."""
        self.mkdir(path)
        entries: Sequence[Path] = sorted(local_dir.iterdir())
        if entries:
            self._run("mcopy", "-s", "-o", "-Q", *map(str, entries), self._path(path) + "/")

    def remove(self, path: str) -> None:
        """Remove a file or a directory tree; absent is fine."""
        if not self.exists(path):
            return
        proc = self._run("mdel", self._path(path), check=False)
        if proc.returncode != 0:
            self._run("mdeltree", self._path(path))
