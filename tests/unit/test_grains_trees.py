"""Fake machines (a root tree of /proc, /etc plus a uname) and every file-based source run on each.

The builders here are imported by the other ``test_grains_*`` files. Each tree
is laid out as the device shows it, including the quirks the sources must cope
with: 64-bit Pi kernels without ``model name``, a Pi 1 kernel with neither a
device tree nor a ``Model`` line, an Ubuntu arm64 kernel whose cpuinfo names
nothing, a NUL-terminated device-tree ``model``, a binary ``linux,revision``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from edge_minion.grains import board, cpu, hostname, kernel, machine, memory, os_release


@dataclass
class Tree:
    """A fake machine: ``root`` holds its files, ``uname`` what ``os.uname()`` would say."""

    root: Path
    uname: os.uname_result
    expected: dict[str, Any] = field(default_factory=dict)

    def write(self, path: str, content: str | bytes) -> None:
        target = self.root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")


def uname(nodename: str, release: str, machine: str) -> os.uname_result:
    return os.uname_result(("Linux", nodename, release, "#1 SMP PREEMPT", machine))


def _processors(count: int, lines: str) -> str:
    return "".join(f"processor\t: {n}\n{lines}\n" for n in range(count))


A72 = ("BogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\n"
       "CPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n")
A76 = ("BogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp "
       "cpuid asimdrdm lrcpc dcpop asimddp\nCPU implementer\t: 0x41\nCPU architecture: 8\n"
       "CPU variant\t: 0x4\nCPU part\t: 0xd0b\nCPU revision\t: 1\n")
A53_V7 = ("model name\t: ARMv7 Processor rev 4 (v7l)\nBogoMIPS\t: 38.40\nFeatures\t: half thumb fastmult "
          "vfp edsp neon vfpv3 tls vfpv4 idiva idivt vfpd32 lpae evtstrm crc32\nCPU implementer\t: 0x41\n"
          "CPU architecture: 7\nCPU variant\t: 0x0\nCPU part\t: 0xd03\nCPU revision\t: 4\n")
A53_64 = ("BogoMIPS\t: 38.40\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\n"
          "CPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd03\nCPU revision\t: 4\n")

DEBIAN_12 = ('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n'
             'VERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\nHOME_URL="https://www.debian.org/"\n')
RASPBIAN_11 = ('PRETTY_NAME="Raspbian GNU/Linux 11 (bullseye)"\nNAME="Raspbian GNU/Linux"\nVERSION_ID="11"\n'
               'VERSION="11 (bullseye)"\nVERSION_CODENAME=bullseye\nID=raspbian\nID_LIKE=debian\n')
RASPBIAN_7 = ('PRETTY_NAME="Raspbian GNU/Linux 7 (wheezy)"\nNAME="Raspbian GNU/Linux"\nVERSION_ID="7"\n'
              'VERSION="7 (wheezy)"\nID=raspbian\nID_LIKE=debian\n')
UBUNTU_22 = ('PRETTY_NAME="Ubuntu 22.04.4 LTS"\nNAME="Ubuntu"\nVERSION_ID="22.04"\n'
             'VERSION="22.04.4 LTS (Jammy Jellyfish)"\nVERSION_CODENAME=jammy\nID=ubuntu\nID_LIKE=debian\n'
             'UBUNTU_CODENAME=jammy\n')
HOSTS = "127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t{name}\n"


def meminfo(total_kib: int, swap_kib: int = 102396) -> str:
    return f"MemTotal:       {total_kib} kB\nMemFree:          123456 kB\nSwapTotal:      {swap_kib} kB\n"


def pi4b(base: Path) -> Tree:
    """Pi 4 Model B 4 GB rev 1.4 on 64-bit Raspberry Pi OS (bookworm: ID=debian)."""
    tree = Tree(base / "pi4b", uname("pi4", "6.6.31+rpt-rpi-v8", "aarch64"))
    tree.write("/proc/cpuinfo", _processors(4, A72) + "Revision\t: c03114\nSerial\t\t: 10000000a1b2c3d4\n"
               "Model\t\t: Raspberry Pi 4 Model B Rev 1.4\n")
    tree.write("/proc/meminfo", meminfo(3884400))
    tree.write("/proc/device-tree/model", b"Raspberry Pi 4 Model B Rev 1.4\0")
    tree.write("/proc/device-tree/serial-number", b"10000000a1b2c3d4\0")
    tree.write("/proc/device-tree/compatible", b"raspberrypi,4-model-b\0brcm,bcm2711\0")
    tree.write("/proc/device-tree/system/linux,revision", bytes.fromhex("00c03114"))
    tree.write("/etc/os-release", DEBIAN_12)
    tree.write("/etc/machine-id", "0f1e2d3c4b5a69788796a5b4c3d2e1f0\n")
    tree.write("/etc/hosts", HOSTS.format(name="pi4"))
    tree.expected = {
        "os": "Debian", "os_family": "Debian", "osrelease": "12", "oscodename": "bookworm",
        "osmajorrelease": 12, "osfinger": "Debian-12", "kernelrelease": "6.6.31+rpt-rpi-v8",
        "cpuarch": "aarch64", "cpu_model": "Raspberry Pi 4 Model B Rev 1.4", "num_cpus": 4,
        "mem_total": 3793, "swap_total": 99, "machine_id": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "fqdn": "pi4", "host": "pi4", "is_raspberry_pi": True, "model": "Raspberry Pi 4 Model B Rev 1.4",
        "productname": "Raspberry Pi 4 Model B Rev 1.4", "manufacturer": None,
        "serialnumber": "10000000a1b2c3d4",
        "board": {"revision": "c03114", "board_type": "4B", "memory_mb": 4096, "manufacturer": "Sony UK",
                  "processor": "BCM2711", "board_revision": "1.4"},
    }
    return tree


def pi5(base: Path) -> Tree:
    """Pi 5 8 GB rev 1.0 on 64-bit Raspberry Pi OS, its FQDN given by /etc/hosts."""
    tree = Tree(base / "pi5", uname("pi5", "6.6.31+rpt-rpi-2712", "aarch64"))
    tree.write("/proc/cpuinfo", _processors(4, A76) + "Revision\t: d04170\nSerial\t\t: 1a2b3c4d5e6f7081\n"
               "Model\t\t: Raspberry Pi 5 Model B Rev 1.0\n")
    tree.write("/proc/meminfo", meminfo(8245296, 204784))
    tree.write("/proc/device-tree/model", b"Raspberry Pi 5 Model B Rev 1.0\0")
    tree.write("/proc/device-tree/serial-number", b"1a2b3c4d5e6f7081\0")
    tree.write("/proc/device-tree/compatible", b"raspberrypi,5-model-b\0brcm,bcm2712\0")
    tree.write("/etc/os-release", DEBIAN_12)
    tree.write("/etc/machine-id", "5555aaaa5555aaaa5555aaaa5555aaaa\n")
    tree.write("/etc/hosts", "127.0.0.1 localhost\n127.0.1.1 pi5.fleet.example.org pi5  # managed\n")
    tree.expected = {
        "os": "Debian", "osrelease": "12", "cpuarch": "aarch64", "num_cpus": 4,
        "cpu_model": "Raspberry Pi 5 Model B Rev 1.0", "mem_total": 8052, "swap_total": 199,
        "fqdn": "pi5.fleet.example.org", "host": "pi5", "domain": "fleet.example.org",
        "is_raspberry_pi": True, "model": "Raspberry Pi 5 Model B Rev 1.0",
        "serialnumber": "1a2b3c4d5e6f7081",
        "board": {"revision": "d04170", "board_type": "5", "memory_mb": 8192, "manufacturer": "Sony UK",
                  "processor": "BCM2712", "board_revision": "1.0"},
    }
    return tree


def zero2w(base: Path) -> Tree:
    """Pi Zero 2 W on 32-bit Raspbian bullseye; no serial-number in its device tree."""
    tree = Tree(base / "zero2w", uname("zero2", "6.1.21-v7+", "armv7l"))
    tree.write("/proc/cpuinfo", _processors(4, A53_V7) + "Hardware\t: BCM2835\nRevision\t: 902120\n"
               "Serial\t\t: 00000000c0ffee12\nModel\t\t: Raspberry Pi Zero 2 W Rev 1.0\n")
    tree.write("/proc/meminfo", meminfo(439592))
    tree.write("/proc/device-tree/model", b"Raspberry Pi Zero 2 W Rev 1.0\0")
    tree.write("/etc/os-release", RASPBIAN_11)
    tree.write("/etc/machine-id", "2222bbbb2222bbbb2222bbbb2222bbbb\n")
    tree.write("/etc/hosts", HOSTS.format(name="zero2"))
    tree.expected = {
        "os": "Raspbian", "os_family": "Debian", "osfullname": "Raspbian GNU/Linux", "osrelease": "11",
        "oscodename": "bullseye", "osfinger": "Raspbian-11", "cpuarch": "armv7l",
        "cpu_model": "ARMv7 Processor rev 4 (v7l)", "num_cpus": 4, "mem_total": 429,
        "is_raspberry_pi": True, "model": "Raspberry Pi Zero 2 W Rev 1.0", "serialnumber": "00000000c0ffee12",
        "board": {"revision": "902120", "board_type": "Zero 2 W", "memory_mb": 512, "manufacturer": "Sony UK",
                  "processor": "BCM2837", "board_revision": "1.0"},
    }
    return tree


def pi3bplus(base: Path) -> Tree:
    """Pi 3 B+ on Ubuntu 22.04 arm64: cpuinfo names nothing, so everything comes from the device tree."""
    tree = Tree(base / "pi3bplus", uname("pi3", "5.15.0-1055-raspi", "aarch64"))
    tree.write("/proc/cpuinfo", _processors(4, A53_64))
    tree.write("/proc/meminfo", meminfo(929080, 0))
    tree.write("/proc/device-tree/model", b"Raspberry Pi 3 Model B Plus Rev 1.3\0")
    tree.write("/proc/device-tree/serial-number", b"00000000deadbeef\0")
    tree.write("/proc/device-tree/compatible", b"raspberrypi,3-model-b-plus\0brcm,bcm2837\0")
    tree.write("/proc/device-tree/system/linux,revision", bytes.fromhex("00a020d3"))
    tree.write("/etc/os-release", UBUNTU_22)
    tree.write("/etc/machine-id", "3333cccc3333cccc3333cccc3333cccc\n")
    tree.write("/etc/hosts", HOSTS.format(name="pi3"))
    tree.expected = {
        "os": "Ubuntu", "os_family": "Debian", "osrelease": "22.04", "osrelease_info": [22, 4],
        "osmajorrelease": 22, "oscodename": "jammy", "osfinger": "Ubuntu-22.04", "cpuarch": "aarch64",
        "cpu_model": "ARM Cortex-A53", "num_cpus": 4, "mem_total": 907, "swap_total": 0,
        "is_raspberry_pi": True, "model": "Raspberry Pi 3 Model B Plus Rev 1.3",
        "serialnumber": "00000000deadbeef",
        "board": {"revision": "a020d3", "board_type": "3B+", "memory_mb": 1024, "manufacturer": "Sony UK",
                  "processor": "BCM2837", "board_revision": "1.3"},
    }
    return tree


def pi1b_rev2(base: Path) -> Tree:
    """Pi 1 Model B rev 2 (old-style code 000e) on Raspbian wheezy: no device tree, no machine-id in /etc."""
    tree = Tree(base / "pi1b", uname("pi1", "3.18.7+", "armv6l"))
    tree.write("/proc/cpuinfo", "Processor\t: ARMv6-compatible processor rev 7 (v6l)\nBogoMIPS\t: 697.95\n"
               "Features\t: swp half thumb fastmult vfp edsp java tls\nCPU implementer\t: 0x41\n"
               "CPU architecture: 7\nCPU variant\t: 0x0\nCPU part\t: 0xb76\nCPU revision\t: 7\n\n"
               "Hardware\t: BCM2708\nRevision\t: 000e\nSerial\t\t: 00000000abcd1234\n")
    tree.write("/proc/meminfo", meminfo(497544, 0))
    tree.write("/etc/os-release", RASPBIAN_7)
    tree.write("/var/lib/dbus/machine-id", "1111dddd1111dddd1111dddd1111dddd\n")
    tree.write("/etc/hosts", HOSTS.format(name="pi1"))
    tree.expected = {
        "os": "Raspbian", "os_family": "Debian", "osrelease": "7", "oscodename": "wheezy",
        "cpuarch": "armv6l", "cpu_model": "ARMv6-compatible processor rev 7 (v6l)", "num_cpus": 1,
        "cpu_flags": ["swp", "half", "thumb", "fastmult", "vfp", "edsp", "java", "tls"],
        "mem_total": 485, "machine_id": "1111dddd1111dddd1111dddd1111dddd",
        "is_raspberry_pi": True, "serialnumber": "00000000abcd1234", "model": None, "productname": None,
        "board": {"revision": "000e", "board_type": "B", "memory_mb": 512, "manufacturer": "Sony UK",
                  "processor": "BCM2835", "board_revision": "2.0"},
    }
    return tree


def x86_laptop(base: Path) -> Tree:
    """An Ubuntu 22.04 laptop: not a Pi, no device tree."""
    tree = Tree(base / "laptop", uname("laptop", "6.5.0-41-generic", "x86_64"))
    tree.write("/proc/cpuinfo", _processors(8, "vendor_id\t: GenuineIntel\ncpu family\t: 6\n"
                                            "model name\t: 11th Gen Intel(R) Core(TM) i7-1165G7 @ 2.80GHz\n"
                                            "flags\t\t: fpu vme de pse tsc msr pae avx2\n"))
    tree.write("/proc/meminfo", meminfo(16113756, 2097148))
    tree.write("/etc/os-release", UBUNTU_22)
    tree.write("/etc/machine-id", "4444eeee4444eeee4444eeee4444eeee\n")
    tree.write("/etc/hosts", "127.0.0.1 localhost\n127.0.1.1 laptop.example.org laptop\n")
    tree.expected = {
        "os": "Ubuntu", "os_family": "Debian", "osfullname": "Ubuntu", "cpuarch": "x86_64",
        "cpu_model": "11th Gen Intel(R) Core(TM) i7-1165G7 @ 2.80GHz", "num_cpus": 8,
        "cpu_flags": ["fpu", "vme", "de", "pse", "tsc", "msr", "pae", "avx2"], "mem_total": 15736,
        "swap_total": 2047, "fqdn": "laptop.example.org", "host": "laptop", "domain": "example.org",
        "is_raspberry_pi": False,
    }
    return tree


TREES: dict[str, Callable[[Path], Tree]] = {
    "pi4b": pi4b, "pi5": pi5, "zero2w": zero2w, "pi3bplus": pi3bplus, "pi1b_rev2": pi1b_rev2,
    "x86_laptop": x86_laptop,
}


def file_grains(tree: Tree) -> dict[str, Any]:
    """Every source that reads files (or uname), run on ``tree``; DNS must not be asked."""
    asked: list[str] = []

    def resolve(name: str) -> str:
        asked.append(name)
        return name

    grains: dict[str, Any] = {}
    grains.update(os_release.grains(tree.root))
    grains.update(kernel.grains(tree.uname))
    grains.update(cpu.grains(tree.root, tree.uname))
    grains.update(memory.grains(tree.root))
    grains.update(hostname.grains(tree.root, tree.uname.nodename, resolve=resolve))
    grains.update(machine.grains(tree.root))
    grains.update(board.grains(tree.root))
    assert asked == [], "a name listed in /etc/hosts must not go to DNS"
    return grains


@pytest.mark.parametrize("name", sorted(TREES))
def test_every_file_source_reads_each_fake_machine(tmp_path: Path, name: str) -> None:
    tree = TREES[name](tmp_path)
    grains = file_grains(tree)
    assert {key: grains.get(key) for key in tree.expected} == tree.expected


def test_a_non_pi_has_no_board_model_or_serial(tmp_path: Path) -> None:
    grains = file_grains(x86_laptop(tmp_path))
    assert "board" not in grains and "model" not in grains and "serialnumber" not in grains


def test_kernel_grains_come_from_uname(tmp_path: Path) -> None:
    grains = file_grains(pi4b(tmp_path))
    assert (grains["kernel"], grains["kernelversion"]) == ("Linux", "#1 SMP PREEMPT")
