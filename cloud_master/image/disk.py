"""The raw disk image: copying (and xz-decompressing) it, and its MBR partition table.

Raspberry Pi OS images carry an MBR ("dos") table with a FAT boot partition first
and an ext4 root second. Only the table is parsed here; the file systems are
reached through :mod:`cloud_master.image.fat` and :mod:`cloud_master.image.rootfs`
at the partitions' byte offsets, so nothing is mounted and no root is needed.
"""

from __future__ import annotations

import lzma
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

from cloud_master.image.errors import ImageError, LayoutError

__all__ = ["FAT_TYPES", "LINUX_TYPE", "Partition", "boot_and_root", "compress_xz", "copy_image", "read_mbr"]

SECTOR = 512
#: MBR type ids of FAT12/16/32 partitions (CHS and LBA variants), and of Linux file systems.
FAT_TYPES = frozenset({0x01, 0x04, 0x06, 0x0B, 0x0C, 0x0E})
LINUX_TYPE = 0x83
_GPT_PROTECTIVE = 0xEE
_CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True)
class Partition:
    number: int  # 1-4, as Linux numbers primary partitions
    type_id: int
    start: int  # bytes from the start of the image
    size: int  # bytes
    bootable: bool

    @property
    def is_fat(self) -> bool:
        return self.type_id in FAT_TYPES


def read_mbr(image: Path) -> list[Partition]:
    """The primary partitions of ``image``, in table order (empty slots left out).

    Raises:
        LayoutError: no MBR signature, a GPT disk, or a partition past the end of the file.
        ImageError: the file cannot be read.
    """
    try:
        with image.open("rb") as handle:
            sector = handle.read(SECTOR)
        length = image.stat().st_size
    except OSError as exc:
        raise ImageError(f"cannot read {image}: {exc}") from exc
    if len(sector) < SECTOR or sector[510:512] != b"\x55\xaa":
        raise LayoutError(f"{image} has no MBR partition table (is it a disk image?)")
    parts: list[Partition] = []
    for index in range(4):
        entry = sector[446 + 16 * index: 446 + 16 * (index + 1)]
        status, type_id = entry[0], entry[4]
        first_lba, sectors = struct.unpack("<II", entry[8:16])
        if type_id == 0 or sectors == 0:
            continue
        if type_id == _GPT_PROTECTIVE:
            raise LayoutError(f"{image} uses a GPT partition table; Raspberry Pi OS images use MBR")
        part = Partition(index + 1, type_id, first_lba * SECTOR, sectors * SECTOR, status == 0x80)
        if part.start + part.size > length:
            raise LayoutError(f"partition {part.number} of {image} ends past the end of the file "
                              "(truncated download?)")
        parts.append(part)
    return parts


def boot_and_root(parts: list[Partition]) -> tuple[Partition, Partition | None]:
    """The boot partition (the first FAT one) and the root partition (the first Linux one after it).

    Raises:
        LayoutError: no FAT partition.
    """
    boot = next((p for p in parts if p.is_fat), None)
    if boot is None:
        kinds = ", ".join(f"{p.number}: type 0x{p.type_id:02x}" for p in parts) or "none"
        raise LayoutError(f"no FAT boot partition in the image (partitions: {kinds})")
    root = next((p for p in parts if p.type_id == LINUX_TYPE and p.start > boot.start), None)
    return boot, root


def copy_image(source: Path, dest: Path) -> None:
    """Copy ``source`` to ``dest``, decompressing it when its name ends in ``.xz``.

    Raises:
        ImageError: unreadable source, corrupt xz data, or a write failure.
    """
    try:
        if source.suffix == ".xz":
            with lzma.open(source, "rb") as src, dest.open("wb") as out:
                shutil.copyfileobj(src, out, _CHUNK)
        else:
            shutil.copyfile(source, dest)
    except lzma.LZMAError as exc:
        raise ImageError(f"{source} is not valid xz data: {exc}") from exc
    except OSError as exc:
        raise ImageError(f"cannot copy {source} to {dest}: {exc}") from exc


def compress_xz(source: Path, dest: Path) -> None:
    """Write ``source`` xz-compressed to ``dest`` (the format Raspberry Pi Imager reads).

    Raises:
        ImageError: a read or write failure.
    """
    try:
        with source.open("rb") as src, lzma.open(dest, "wb", preset=6) as out:
            shutil.copyfileobj(src, out, _CHUNK)
    except (OSError, lzma.LZMAError) as exc:
        raise ImageError(f"cannot compress {source} to {dest}: {exc}") from exc
