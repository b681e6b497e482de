"""The persisted grains file (``state_dir/grains.yaml``): a YAML mapping, written atomically.

A write goes to a temporary file in the same directory, is fsynced, then
``os.replace``d over the old file, and the directory is fsynced: a power cut
leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from edge_minion.grains.errors import GrainsFileCorrupt, GrainsFileError, GrainTypeError

FILENAME = "grains.yaml"


def to_yaml_value(value: Any) -> Any:
    """``value`` as it will read back from the file (tuples become lists).

    Raises:
        GrainTypeError: YAML cannot hold ``value`` (an object, a set...).
    """
    try:
        return yaml.safe_load(yaml.safe_dump(value))
    except yaml.YAMLError as exc:
        raise GrainTypeError(f"grain value {value!r} cannot be stored as YAML: {exc}") from exc


class GrainsFile:
    """One grains file on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, Any]:
        """The grains in the file; ``{}`` when it is missing or empty.

        Raises:
            GrainsFileCorrupt: the file is not YAML, or not a mapping.
            GrainsFileError: the file cannot be read.
        """
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as exc:
            raise GrainsFileError(f"cannot read grains file {self.path}: {exc}") from exc
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise GrainsFileCorrupt(f"grains file {self.path} is not valid YAML: {exc}") from exc
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise GrainsFileCorrupt(
                f"grains file {self.path} must hold a mapping, not a {type(data).__name__}")
        return {str(key): value for key, value in data.items()}

    def save(self, grains: Mapping[str, Any]) -> None:
        """Replace the file's content with ``grains``, atomically.

        Raises:
            GrainTypeError: a value cannot be stored as YAML.
            GrainsFileError: the file cannot be written (the old one is then untouched).
        """
        try:
            text = yaml.safe_dump(dict(grains), default_flow_style=False, sort_keys=True)
        except yaml.YAMLError as exc:
            raise GrainTypeError(f"grains cannot be stored as YAML: {exc}") from exc
        directory = self.path.parent
        import tempfile  # only grains.setval & co write; tempfile (with shutil, bz2, lzma) is idle weight

        try:
            directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        except OSError as exc:
            raise GrainsFileError(f"cannot write grains file {self.path}: {exc}") from exc
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise GrainsFileError(f"cannot write grains file {self.path}: {exc}") from exc
        _fsync_directory(directory)

    def set_aside(self) -> Path:
        """Rename the file to ``<name>.corrupt`` (kept for the operator) and return the new path.

        Raises:
            GrainsFileError: the rename failed.
        """
        aside = self.path.with_name(self.path.name + ".corrupt")
        try:
            os.replace(self.path, aside)
        except OSError as exc:
            raise GrainsFileError(f"cannot move {self.path} aside: {exc}") from exc
        return aside


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; some filesystems refuse to fsync a directory.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
