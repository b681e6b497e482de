"""Partition tables, target detection and pip platform tags, without external tools."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from cloud_master.image.bundle import platform_tags
from cloud_master.image.disk import boot_and_root, read_mbr
from cloud_master.image.errors import LayoutError
from cloud_master.image.rootfs import RootInfo
from cloud_master.image.target import CLOUD_INIT, FIRSTRUN, choose_target


def mbr(path: Path, entries: list[tuple[int, int, int]], size: int, signature: bytes = b"\x55\xaa") -> Path:
    sector = bytearray(512)
    for i, (type_id, first, count) in enumerate(entries):
        entry = bytes([0, 0, 0, 0, type_id, 0, 0, 0]) + struct.pack("<II", first, count)
        sector[446 + 16 * i: 446 + 16 * (i + 1)] = entry
    sector[510:512] = signature
    path.write_bytes(bytes(sector))
    with path.open("r+b") as handle:
        handle.truncate(size)
    return path


def test_reads_a_pi_os_table(tmp_path: Path) -> None:
    image = mbr(tmp_path / "d.img", [(0x0C, 8192, 1024), (0x83, 9216, 2048)], (9216 + 2048) * 512)
    boot, root = boot_and_root(read_mbr(image))
    assert (boot.number, boot.start, boot.size, boot.is_fat) == (1, 8192 * 512, 1024 * 512, True)
    assert root is not None and (root.number, root.start) == (2, 9216 * 512)


@pytest.mark.parametrize("entries,size,signature,message", [
    ([(0x0C, 8192, 1024)], 512, b"\x55\xaa", "past the end"),
    ([(0xEE, 1, 100)], 200 * 512, b"\x55\xaa", "GPT"),
    ([(0x0C, 1, 10)], 20 * 512, b"\x00\x00", "no MBR"),
])
def test_refuses_other_layouts(tmp_path: Path, entries: list[tuple[int, int, int]], size: int,
                               signature: bytes, message: str) -> None:
    with pytest.raises(LayoutError, match=message):
        read_mbr(mbr(tmp_path / "d.img", entries, size, signature))


def test_needs_a_fat_partition(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match="no FAT boot partition"):
        boot_and_root(read_mbr(mbr(tmp_path / "d.img", [(0x83, 1, 10)], 20 * 512)))


def test_bookworm_runs_firstrun_and_trixie_cloud_init() -> None:
    bookworm = choose_target(["cmdline.txt", "config.txt"], RootInfo("bookworm", "3.11", "aarch64"))
    assert (bookworm.flavour, bookworm.python, bookworm.arch) == (FIRSTRUN, "3.11", "aarch64")
    trixie = choose_target(["cmdline.txt", "user-data", "meta-data"], RootInfo("trixie", "3.13", "aarch64"))
    assert (trixie.flavour, trixie.python) == (CLOUD_INIT, "3.13")
    assert choose_target(["cmdline.txt"], RootInfo("trixie", None, None)).flavour == CLOUD_INIT
    unknown = choose_target(["CMDLINE.TXT"], None)
    assert (unknown.flavour, unknown.python, unknown.arch) == (FIRSTRUN, "3.11", "aarch64")
    forced = choose_target(["cmdline.txt", "user-data"], None, flavour=FIRSTRUN, python="3.12", arch="armv7l")
    assert (forced.flavour, forced.python, forced.arch) == (FIRSTRUN, "3.12", "armv7l")


def test_refuses_old_python_and_non_pi_images() -> None:
    with pytest.raises(LayoutError, match="3.9"):
        choose_target(["cmdline.txt"], RootInfo("bullseye", "3.9", "aarch64"))
    with pytest.raises(LayoutError, match="cmdline.txt"):
        choose_target(["EFI"], None)


def test_platform_tags_cover_every_manylinux_level() -> None:
    tags = platform_tags("aarch64", (2, 36))
    assert tags[0] == "manylinux_2_36_aarch64" and "manylinux_2_17_aarch64" in tags
    assert tags[-1] == "manylinux2014_aarch64" and len(tags) == 21
