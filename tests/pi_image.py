"""Small disk images with Raspberry Pi OS's layout, made with the tools tools/setup installs.

An MBR with a FAT32 boot partition at sector 8192 (``mkfs.vfat -C``, filled with
``mcopy``) and an ext4 root after it (``mkfs.ext4 -d`` from a directory), joined
into one file and partitioned with ``sfdisk``: no root, no loop device.
"""

from __future__ import annotations

import lzma
import os
import shutil
import subprocess
from pathlib import Path

TOOLS = ("mkfs.vfat", "mkfs.ext4", "sfdisk", "mcopy", "mdir", "debugfs")
CMDLINE = ("console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 fsck.repair=yes "
           "rootwait quiet splash plymouth.ignore-serial-consoles\n")
STOCK_USER_DATA = """#cloud-config
# This is the user-data configuration file for cloud-init.
# (Stand-in for the file of a stock Raspberry Pi OS trixie image.)
manage_resolv_conf: false
"""
_MULTIARCH = {"aarch64": "aarch64-linux-gnu", "armv7l": "arm-linux-gnueabihf", "x86_64": "x86_64-linux-gnu"}


def missing_tools() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]


def _run(*argv: str, stdin: str | None = None) -> None:
    subprocess.run(argv, input=stdin, text=True, check=True, capture_output=True)


def make_pi_image(directory: Path, codename: str = "bookworm", python: str = "3.11", arch: str = "aarch64",
                  boot_mb: int = 64, xz: bool = False, extra_boot: dict[str, str] | None = None) -> Path:
    """Write ``directory/raspios-<codename>.img`` (or ``.img.xz``) and return its path."""
    work = directory / f"build-{codename}"
    boot_dir, root_dir = work / "boot", work / "root"
    for d in (boot_dir, root_dir / "etc", root_dir / f"usr/lib/python{python}", root_dir / "usr/lib" /
              _MULTIARCH[arch]):
        d.mkdir(parents=True, exist_ok=True)
    (root_dir / "usr/lib/os-release").write_text(
        f'PRETTY_NAME="Debian GNU/Linux ({codename})"\nID=debian\nVERSION_CODENAME={codename}\n')
    os.symlink("../usr/lib/os-release", root_dir / "etc/os-release")
    files = {"cmdline.txt": CMDLINE, "config.txt": "[all]\narm_64bit=1\n", "issue.txt": f"Raspberry Pi OS {codename}\n"}
    if codename not in ("bullseye", "bookworm"):
        files.update({"user-data": STOCK_USER_DATA, "meta-data": "instance-id: rpios-image\n",
                      "network-config": "network:\n  version: 2\n"})
    files.update(extra_boot or {})
    for name, text in files.items():
        (boot_dir / name).write_text(text)
    boot_img, root_img = work / "boot.img", work / "root.img"
    _run("mkfs.vfat", "-C", "-F", "32", "-n", "bootfs", str(boot_img), str(boot_mb * 1024))
    env_drive = f"{boot_img}"
    for name in files:
        _run("mcopy", "-i", env_drive, str(boot_dir / name), f"::/{name}")
    _run("mkfs.ext4", "-q", "-d", str(root_dir), "-L", "rootfs", str(root_img), "24M")
    disk = directory / f"raspios-{codename}.img"
    boot_sectors = boot_img.stat().st_size // 512
    with disk.open("wb") as out:
        out.truncate(8192 * 512)
        out.seek(8192 * 512)
        for part in (boot_img, root_img):
            with part.open("rb") as src:
                shutil.copyfileobj(src, out)
    _run("sfdisk", "-q", str(disk),
         stdin=f"label: dos\nlabel-id: 0x4e639091\nstart=8192, size={boot_sectors}, type=c\n"
               f"start={8192 + boot_sectors}, type=83\n")
    shutil.rmtree(work)
    if not xz:
        return disk
    packed = disk.with_name(disk.name + ".xz")
    with disk.open("rb") as src, lzma.open(packed, "wb", preset=0) as dst:
        shutil.copyfileobj(src, dst)
    disk.unlink()
    return packed


# ---- the payload on a prepared image, and the first-boot installer ----------------------------

REPO = Path(__file__).resolve().parent.parent
_BUNDLES: dict[str, Path] = {}


def host_bundle(cache_root: Path) -> Path:
    """An install bundle for this machine's Python and architecture (built once per run).

    Lets the tests install the bundle for real into a scratch root; the Pi's aarch64
    bundle is built the same way with other platform tags.
    """
    import platform
    import sys

    from cloud_master.image.bundle import build_bundle

    key = str(cache_root)
    if key not in _BUNDLES:
        python = f"{sys.version_info.major}.{sys.version_info.minor}"
        _BUNDLES[key] = build_bundle(cache_root / "host-bundle", python, platform.machine()).path
    return _BUNDLES[key]


def boot_offset(image: Path) -> int:
    from cloud_master.image.disk import boot_and_root, read_mbr

    return boot_and_root(read_mbr(image))[0].start


def extract_boot(image: Path, dest: Path) -> Path:
    """Copy the whole boot partition out of ``image`` into ``dest`` (mcopy, no mount)."""
    dest.mkdir(parents=True, exist_ok=True)
    drive = f"{image}@@{boot_offset(image)}"
    names = subprocess.run(["mdir", "-b", "-i", drive, "::/"], capture_output=True, text=True, check=True).stdout
    sources = [f"::/{line.strip().rstrip('/').rsplit('/', 1)[-1]}" for line in names.splitlines() if line.strip()]
    subprocess.run(["mcopy", "-s", "-n", "-i", drive, *sources, str(dest)], check=True, capture_output=True)
    return dest


def fake_pi(root: Path, serial: str) -> Path:
    """A /proc tree with a Pi's cpuinfo, for the installer's serial-number lookup."""
    (root / "proc").mkdir(parents=True, exist_ok=True)
    (root / "proc/cpuinfo").write_text(
        f"processor\t: 0\nBogoMIPS\t: 108.00\nHardware\t: BCM2835\nRevision\t: c03114\n"
        f"Serial\t\t: {serial}\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n")
    return root


def offline_prefix() -> list[str]:
    """``unshare -rn`` (no network at all) when this machine allows it, else nothing."""
    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True) if shutil.which("unshare") else None
    return ["unshare", "-rn"] if probe is not None and probe.returncode == 0 else []


def run_firstboot(payload: Path, root: Path, hw: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the installer from ``payload`` into ``root`` as a test can: --no-system, offline if possible."""
    import sys

    env = {"PATH": os.environ["PATH"], "ROOT": str(root), "EDGEFLEET_PROC": str(hw), "PYTHON": sys.executable}
    return subprocess.run([*offline_prefix(), "bash", str(payload / "firstboot.sh"), "--no-system", *args],
                          env=env, capture_output=True, text=True, timeout=600)
