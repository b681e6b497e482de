"""CPU, memory, machine id and Python grains: the cases the fake machines do not cover."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import edge_minion
from edge_minion.grains import cpu, machine, memory, python
from edge_minion.grains.cpuinfo import parse_cpuinfo
from tests.unit.test_grains_trees import Tree, uname


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    return Tree(tmp_path, uname("box", "6.1", "aarch64"))


def test_cpuinfo_keys_keep_their_order_and_repeat() -> None:
    info = parse_cpuinfo("processor\t: 0\nCPU part\t: 0xd08\n\nprocessor\t: 1\nno colon here\n"
                         "Serial\t: 1:2\n")
    assert info.count("processor") == 2
    assert info.first("Serial") == "1:2"
    assert info.first("Missing") is None


@pytest.mark.parametrize("cpuinfo, model", [
    ("model name\t: Intel Xeon\nModel\t: Board\n", "Intel Xeon"),
    ("Model\t: Raspberry Pi 4 Model B Rev 1.4\nHardware\t: BCM2835\n", "Raspberry Pi 4 Model B Rev 1.4"),
    ("Hardware\t: BCM2835\n", "BCM2835"),
    ("CPU implementer\t: 0x41\nCPU part\t: 0xd0b\n", "ARM Cortex-A76"),
    ("CPU implementer\t: 0x51\nCPU part\t: 0xd0b\n", "Unknown"),  # not Arm's numbering
    ("", "Unknown"),
])
def test_cpu_model_takes_the_first_name_cpuinfo_offers(tree: Tree, cpuinfo: str, model: str) -> None:
    tree.write("/proc/cpuinfo", cpuinfo)
    assert cpu.grains(tree.root, tree.uname)["cpu_model"] == model


def test_no_cpuinfo_is_an_error(tree: Tree) -> None:
    with pytest.raises(FileNotFoundError, match="cpuinfo"):
        cpu.grains(tree.root, tree.uname)


def test_memory_needs_memtotal(tree: Tree) -> None:
    tree.write("/proc/meminfo", "MemFree: 1 kB\n")
    with pytest.raises(ValueError, match="MemTotal"):
        memory.grains(tree.root)


def test_memory_without_swap_line_has_no_swap(tree: Tree) -> None:
    tree.write("/proc/meminfo", "MemTotal:  1048576 kB\n")
    assert memory.grains(tree.root) == {"mem_total": 1024, "swap_total": 0}


@pytest.mark.parametrize("content", ["", "\n", "uninitialized\n"])
def test_an_unset_machine_id_gives_no_grain(tree: Tree, content: str) -> None:
    tree.write("/etc/machine-id", content)
    assert machine.grains(tree.root) == {}


def test_the_dbus_machine_id_stands_in_for_an_unset_one(tree: Tree) -> None:
    tree.write("/etc/machine-id", "uninitialized\n")
    tree.write("/var/lib/dbus/machine-id", "abc123\n")
    assert machine.grains(tree.root) == {"machine_id": "abc123"}


def test_python_grains_are_salts_shapes() -> None:
    grains = python.grains()
    assert grains["pythonversion"] == list(sys.version_info)
    assert grains["pythonversion"][:2] == [sys.version_info.major, sys.version_info.minor]
    assert isinstance(grains["pythonversion"][3], str)
    assert grains["pythonexecutable"] == sys.executable
    assert grains["edgefleet_version"] == edge_minion.__version__
