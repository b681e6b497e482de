"""Which first-boot mechanism, Python and architecture an image has.

* ``firstrun`` (Raspberry Pi OS bookworm and older): ``cmdline.txt`` gets
  ``systemd.run=/boot/firmware/firstrun.sh``; the script runs once, removes itself
  from ``cmdline.txt`` and the Pi reboots (what Raspberry Pi Imager does).
* ``cloud-init`` (trixie and newer): cloud-init's NoCloud source reads
  ``user-data``, ``meta-data`` and ``network-config`` from the boot partition; a
  ``runcmd`` entry runs the installer once per instance.

The boot partition decides first (stock trixie images ship the three cloud-init
files), then the root's ``VERSION_CODENAME``; the operator can force either.
"""

from __future__ import annotations

from dataclasses import dataclass

from cloud_master.image.errors import LayoutError
from cloud_master.image.rootfs import RootInfo

__all__ = ["CLOUD_INIT", "FIRSTRUN", "FLAVOURS", "ImageTarget", "choose_target"]

FIRSTRUN = "firstrun"
CLOUD_INIT = "cloud-init"
FLAVOURS = (FIRSTRUN, CLOUD_INIT)
CLOUD_INIT_FILES = ("user-data", "meta-data", "network-config")
#: Debian release -> its Python 3 (used when the root partition cannot be read).
RELEASE_PYTHON = {"bullseye": "3.9", "bookworm": "3.11", "trixie": "3.13", "forky": "3.13"}
_FIRSTRUN_RELEASES = ("buster", "bullseye", "bookworm")
MIN_PYTHON = (3, 11)


@dataclass(frozen=True)
class ImageTarget:
    flavour: str  # FIRSTRUN or CLOUD_INIT
    codename: str | None
    python: str  # "3.11"
    arch: str  # "aarch64"
    reasons: tuple[str, ...]  # how each value was decided, for the report


def choose_target(boot_files: list[str], root: RootInfo | None, flavour: str | None = None,
                  python: str | None = None, arch: str | None = None) -> ImageTarget:
    """Decide the mechanism, Python and architecture; explicit arguments win.

    Raises:
        LayoutError: the boot partition has no ``cmdline.txt``, or the Python is too old.
    """
    names = {n.lower() for n in boot_files}
    if "cmdline.txt" not in names:
        raise LayoutError("the boot partition has no cmdline.txt: not a Raspberry Pi OS image")
    codename = root.codename if root else None
    reasons: list[str] = []
    if flavour is not None:
        reasons.append(f"first boot: {flavour} (asked for)")
    elif names & set(CLOUD_INIT_FILES):
        flavour = CLOUD_INIT
        reasons.append("first boot: cloud-init (the boot partition has cloud-init files)")
    elif codename is not None and codename not in _FIRSTRUN_RELEASES:
        flavour = CLOUD_INIT
        reasons.append(f"first boot: cloud-init ({codename})")
    else:
        flavour = FIRSTRUN
        reasons.append(f"first boot: firstrun.sh via systemd.run ({codename or 'no cloud-init files'})")
    if python is not None:
        reasons.append(f"python {python} (asked for)")
    elif root is not None and root.python is not None:
        python = root.python
        reasons.append(f"python {python} (found in the root partition)")
    else:
        python = RELEASE_PYTHON.get(codename or "", "3.13" if flavour == CLOUD_INIT else "3.11")
        reasons.append(f"python {python} (assumed for {codename or flavour})")
    major, _, minor = python.partition(".")
    if not (major.isdigit() and minor.isdigit()) or (int(major), int(minor)) < MIN_PYTHON:
        raise LayoutError(f"the image has Python {python}; edgefleet needs Python 3.11 or newer "
                          "(Raspberry Pi OS bookworm or later)")
    if arch is not None:
        reasons.append(f"arch {arch} (asked for)")
    elif root is not None and root.arch is not None:
        arch = root.arch
        reasons.append(f"arch {arch} (found in the root partition)")
    else:
        arch = "aarch64"
        reasons.append("arch aarch64 (assumed: 64-bit Raspberry Pi OS)")
    return ImageTarget(flavour, codename, python, arch, tuple(reasons))
