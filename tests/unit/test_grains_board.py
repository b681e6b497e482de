"""Raspberry Pi revision codes (bitfield and old table) and the board source's edge cases."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge_minion.grains import board, revision
from edge_minion.grains.errors import GrainsError, UnknownRevision
from tests.unit.test_grains_trees import Tree, pi1b_rev2, pi4b, uname


def decoded(text: str) -> dict[str, Any]:
    return revision.decode(revision.parse_code(text), text)


@pytest.mark.parametrize("code, board_type, memory_mb, manufacturer, processor, board_revision", [
    ("a02082", "3B", 1024, "Sony UK", "BCM2837", "1.2"),
    ("a22082", "3B", 1024, "Embest", "BCM2837", "1.2"),
    ("a32082", "3B", 1024, "Sony Japan", "BCM2837", "1.2"),
    ("a52082", "3B", 1024, "Stadium", "BCM2837", "1.2"),
    ("a01041", "2B", 1024, "Sony UK", "BCM2836", "1.1"),
    ("a22042", "2B", 1024, "Embest", "BCM2837", "1.2"),
    ("900092", "Zero", 512, "Sony UK", "BCM2835", "1.2"),
    ("9000c1", "Zero W", 512, "Sony UK", "BCM2835", "1.1"),
    ("9020e0", "3A+", 512, "Sony UK", "BCM2837", "1.0"),
    ("a020d3", "3B+", 1024, "Sony UK", "BCM2837", "1.3"),
    ("a03111", "4B", 1024, "Sony UK", "BCM2711", "1.1"),
    ("c03114", "4B", 4096, "Sony UK", "BCM2711", "1.4"),
    ("d03115", "4B", 8192, "Sony UK", "BCM2711", "1.5"),
    ("902120", "Zero 2 W", 512, "Sony UK", "BCM2837", "1.0"),
    ("c03130", "400", 4096, "Sony UK", "BCM2711", "1.0"),
    ("a03140", "CM4", 1024, "Sony UK", "BCM2711", "1.0"),
    ("b04170", "5", 2048, "Sony UK", "BCM2712", "1.0"),
    ("e04171", "5", 16384, "Sony UK", "BCM2712", "1.1"),
    ("d04180", "CM5", 8192, "Sony UK", "BCM2712", "1.0"),
    ("e04190", "500", 16384, "Sony UK", "BCM2712", "1.0"),
])
def test_new_style_codes_decode_from_the_bitfield(code: str, board_type: str, memory_mb: int,
                                                  manufacturer: str, processor: str,
                                                  board_revision: str) -> None:
    assert decoded(code) == {"revision": code, "board_type": board_type, "memory_mb": memory_mb,
                             "manufacturer": manufacturer, "processor": processor,
                             "board_revision": board_revision}


@pytest.mark.parametrize("code, board_type, board_revision, memory_mb, manufacturer", [
    ("0002", "B", "1.0", 256, "Egoman"),
    ("0004", "B", "2.0", 256, "Sony UK"),
    ("0009", "A", "2.0", 256, "Qisda"),
    ("000e", "B", "2.0", 512, "Sony UK"),
    ("0010", "B+", "1.2", 512, "Sony UK"),
    ("0014", "CM1", "1.0", 512, "Embest"),
    ("0015", "A+", "1.1", None, "Embest"),  # sold as 256 MB and 512 MB under one code
])
def test_old_style_codes_come_from_the_table(code: str, board_type: str, board_revision: str,
                                             memory_mb: int | None, manufacturer: str) -> None:
    assert decoded(code) == {"revision": code, "board_type": board_type, "memory_mb": memory_mb,
                             "manufacturer": manufacturer, "processor": "BCM2835",
                             "board_revision": board_revision}


def test_an_over_volted_old_board_keeps_its_code_and_is_still_named() -> None:
    info = decoded("1000000e")
    assert info["revision"] == "1000000e"
    assert (info["board_type"], info["memory_mb"]) == ("B", 512)


def test_case_and_0x_prefix_do_not_matter() -> None:
    assert decoded("0xC03114")["board_type"] == "4B"
    assert revision.decode(0xC03114)["revision"] == "c03114"
    assert revision.decode(0x000E)["revision"] == "000e"


@pytest.mark.parametrize("code", ["0000", "0001", "000a", "0016", "0102"])
def test_old_codes_outside_the_table_are_unknown(code: str) -> None:
    with pytest.raises(UnknownRevision, match=code):
        decoded(code)


def test_text_that_is_not_hex_is_an_unknown_revision_and_a_value_error() -> None:
    with pytest.raises(ValueError, match="not hexadecimal") as caught:
        revision.parse_code("pi4")
    assert isinstance(caught.value, GrainsError)
    assert isinstance(caught.value.__cause__, ValueError)


def test_fields_no_table_names_say_unknown_rather_than_fail() -> None:
    # type 0x7f, manufacturer 9, processor 8, memory 7 ("other": size given elsewhere)
    info = revision.decode((1 << 23) | (7 << 20) | (9 << 16) | (8 << 12) | (0x7F << 4) | 2)
    assert info == {"revision": "f987f2", "board_type": "unknown (0x7f)", "memory_mb": None,
                    "manufacturer": "unknown (9)", "processor": "unknown (8)", "board_revision": "1.2"}


@given(memory=st.integers(0, 6), maker=st.integers(0, 15), cpu=st.integers(0, 15),
       kind=st.integers(0, 255), rev=st.integers(0, 15), high=st.integers(0, 0xFF))
def test_every_new_style_code_decodes_its_fields(memory: int, maker: int, cpu: int, kind: int,
                                                 rev: int, high: int) -> None:
    code = (high << 24) | (1 << 23) | (memory << 20) | (maker << 16) | (cpu << 12) | (kind << 4) | rev
    info = revision.decode(code)
    assert info["memory_mb"] == 256 << memory
    assert info["board_revision"] == f"1.{rev}"
    assert set(info) == {"revision", "board_type", "memory_mb", "manufacturer", "processor", "board_revision"}


@given(code=st.integers(0, 0xFFFFFFFF))
def test_any_32_bit_code_decodes_or_raises_unknown_revision(code: int) -> None:
    try:
        info = revision.decode(code)
    except UnknownRevision:
        assert not code & (1 << 23)
    else:
        assert info["revision"] == (f"{code:06x}" if code & (1 << 23) else f"{code:04x}")


# ---- the board source -------------------------------------------------------------------------


def test_the_device_tree_revision_may_also_be_text(tmp_path: Path) -> None:
    tree = Tree(tmp_path, uname("pi", "6.6", "aarch64"))
    tree.write("/proc/device-tree/model", b"Raspberry Pi 4 Model B Rev 1.5\0")
    tree.write("/proc/device-tree/system/linux,revision", b"d03115\0")
    assert board.grains(tree.root)["board"]["memory_mb"] == 8192


def test_a_pi_with_an_unknown_code_keeps_the_code_and_logs_it(tmp_path: Path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    tree = pi1b_rev2(tmp_path)
    tree.write("/proc/cpuinfo", "Hardware\t: BCM2708\nRevision\t: 000b\n")
    with caplog.at_level(logging.WARNING, logger="edge_minion.grains.board"):
        grains = board.grains(tree.root)
    assert grains["board"] == {"revision": "000b"}
    assert "000b" in caplog.text


def test_another_arm_board_is_not_a_pi_and_its_revision_is_not_decoded(tmp_path: Path) -> None:
    tree = Tree(tmp_path, uname("odroid", "5.10", "aarch64"))
    tree.write("/proc/cpuinfo", "processor\t: 0\nHardware\t: Hardkernel ODROID-C4\nRevision\t: 0400\n"
               "Serial\t\t: 290b1000010c1900000437304e424e50\n")
    tree.write("/proc/device-tree/model", b"Hardkernel ODROID-C4\0")
    grains = board.grains(tree.root)
    assert grains == {"is_raspberry_pi": False, "model": "Hardkernel ODROID-C4",
                      "productname": "Hardkernel ODROID-C4",
                      "serialnumber": "290b1000010c1900000437304e424e50"}


def test_a_maker_comma_model_string_splits_as_salt_splits_it(tmp_path: Path) -> None:
    tree = Tree(tmp_path, uname("p9", "6.1", "ppc64le"))
    tree.write("/proc/device-tree/model", b"IBM,9009-42A\0")
    tree.write("/proc/device-tree/system-id", b"IBM,02781234X\0")
    grains = board.grains(tree.root)
    assert (grains["manufacturer"], grains["productname"]) == ("IBM", "9009-42A")
    assert grains["model"] == "IBM,9009-42A"
    assert grains["serialnumber"] == "IBM,02781234X"


def test_the_compatible_property_alone_identifies_a_pi(tmp_path: Path) -> None:
    tree = Tree(tmp_path, uname("cm4", "6.6", "aarch64"))
    tree.write("/proc/device-tree/compatible", b"raspberrypi,4-compute-module\0brcm,bcm2711\0")
    assert board.is_raspberry_pi(tree.root)


def test_the_device_tree_model_wins_over_cpuinfo_and_loses_its_nul(tmp_path: Path) -> None:
    tree = pi4b(tmp_path)
    tree.write("/proc/device-tree/model", b"Raspberry Pi 4 Model B Rev 1.5\0\0")
    assert board.grains(tree.root)["model"] == "Raspberry Pi 4 Model B Rev 1.5"


def test_an_empty_root_is_simply_not_a_pi(tmp_path: Path) -> None:
    assert board.grains(tmp_path) == {"is_raspberry_pi": False}
