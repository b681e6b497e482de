"""OS grains from os-release: ``os``, ``os_family``, ``osrelease``, ``oscodename``...

The file is freedesktop.org's ``/etc/os-release`` (falling back to
``/usr/lib/os-release``): shell-style ``KEY=value`` lines. The grains follow
Salt's meaning: ``os`` is the short distribution name (``Debian``,
``Raspbian``, ``Ubuntu``), ``os_family`` the oldest ancestor named by ``ID`` and
``ID_LIKE`` (``Debian`` for Raspbian, Debian and Ubuntu), ``osfullname`` is
``NAME`` as written, ``osrelease`` is ``VERSION_ID``.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

from edge_minion.grains.files import read_text

#: os-release ``ID`` -> the ``os`` grain, where NAME alone would not give Salt's value.
_OS_BY_ID = {
    "debian": "Debian",
    "raspbian": "Raspbian",
    "ubuntu": "Ubuntu",
    "linuxmint": "Mint",
    "pop": "Pop",
    "rhel": "RedHat",
    "centos": "CentOS",
    "almalinux": "AlmaLinux",
    "rocky": "Rocky",
    "fedora": "Fedora",
    "arch": "Arch",
    "archarm": "Arch ARM",
    "manjaro": "Manjaro",
    "alpine": "Alpine",
    "opensuse-leap": "Leap",
    "opensuse-tumbleweed": "openSUSE Tumbleweed",
    "sles": "SUSE",
}

#: family ID (the oldest ancestor) -> the ``os_family`` grain; others are capitalised.
_FAMILY_BY_ID = {"fedora": "RedHat", "rhel": "RedHat", "centos": "RedHat", "suse": "Suse",
                 "opensuse": "Suse"}

#: ``osfinger`` is ``<os>-<major>`` for these, ``<osfullname>-<major>`` for the rest...
_FINGER_BY_OS = {"Debian", "Raspbian", "AlmaLinux"}
#: ...except that these carry the whole release ("Ubuntu-22.04").
_FULL_RELEASE_FINGER = {"Ubuntu", "Pop"}

_LINUX_WORD = re.compile(r"\b(?:GNU/)?Linux\b", re.IGNORECASE)
_CODENAME_IN_VERSION = re.compile(r"\((?P<codename>[^)]+)\)")


def parse_os_release(text: str) -> dict[str, str]:
    """``KEY=value`` pairs, with shell quoting and escapes undone; comments and junk skipped."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, raw = line.partition("=")
        if not sep or not key.isidentifier():
            continue
        try:
            value = " ".join(shlex.split(raw, comments=False, posix=True))
        except ValueError:  # unbalanced quote: keep what is there rather than lose the key
            value = raw.strip("'\"")
        fields[key] = value
    return fields


def os_name(fields: dict[str, str]) -> str:
    """The ``os`` grain: a known ``ID``'s name, else ``NAME`` without the word Linux."""
    os_id = fields.get("ID", "linux").lower()
    if os_id in _OS_BY_ID:
        return _OS_BY_ID[os_id]
    name = _LINUX_WORD.sub("", fields.get("NAME", "")).strip()
    return " ".join(name.split()) or os_id.capitalize()


def os_family(fields: dict[str, str]) -> str:
    """The ``os_family`` grain: the oldest ancestor among ``ID`` and ``ID_LIKE``."""
    os_id = fields.get("ID", "linux").lower()
    lineage = [os_id, *fields.get("ID_LIKE", "").lower().split()]
    if "debian" in lineage or "ubuntu" in lineage:
        return "Debian"
    family_id = lineage[-1]  # ID_LIKE lists ancestors closest first
    return _FAMILY_BY_ID.get(family_id, family_id.capitalize())


def release_info(release: str) -> list[int | str]:
    """``"22.04"`` -> ``[22, 4]``; a part that is not a number stays a string."""
    return [int(part) if part.isdigit() else part for part in release.split(".") if part]


def grains(root: Path = Path("/")) -> dict[str, Any]:
    """OS grains from ``root``'s os-release.

    Raises:
        FileNotFoundError: neither ``/etc/os-release`` nor ``/usr/lib/os-release`` exists.
    """
    text = read_text(root, "/etc/os-release", "/usr/lib/os-release")
    if text is None:
        raise FileNotFoundError(f"no os-release file under {root}")
    fields = parse_os_release(text)
    name = os_name(fields)
    fullname = fields.get("NAME", name).strip()
    release = fields.get("VERSION_ID", "")
    codename = fields.get("VERSION_CODENAME", "")
    if not codename:
        match = _CODENAME_IN_VERSION.search(fields.get("VERSION", ""))
        codename = match.group("codename").strip() if match else ""
    out: dict[str, Any] = {
        "os": name,
        "os_family": os_family(fields),
        "osfullname": fullname,
        "osrelease": release,
        "oscodename": codename,
    }
    info = release_info(release)
    out["osrelease_info"] = info
    if info and isinstance(info[0], int):
        out["osmajorrelease"] = info[0]
    if info:
        finger_name = name if name in _FINGER_BY_OS else fullname
        finger_release = release if name in _FULL_RELEASE_FINGER else info[0]
        out["osfinger"] = f"{finger_name}-{finger_release}"
    return out
