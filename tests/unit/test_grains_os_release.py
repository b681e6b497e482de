"""OS grains from os-release: parsing, Salt's os / os_family naming, the derived release grains."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_minion.grains import os_release


def write_os_release(root: Path, text: str, path: str = "etc/os-release") -> Path:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return root


def test_quoting_escapes_and_comments_are_handled() -> None:
    fields = os_release.parse_os_release(
        '# a comment\nNAME="Fancy \\"Quoted\\" OS"\nID=fancy\nVERSION=\'1 (one)\'\n\nnot a line\n'
        'BAD KEY=x\nBROKEN="unterminated\n')
    assert fields == {"NAME": 'Fancy "Quoted" OS', "ID": "fancy", "VERSION": "1 (one)",
                      "BROKEN": "unterminated"}


@pytest.mark.parametrize("fields, os_name, family", [
    ({"ID": "debian", "NAME": "Debian GNU/Linux"}, "Debian", "Debian"),
    ({"ID": "raspbian", "ID_LIKE": "debian", "NAME": "Raspbian GNU/Linux"}, "Raspbian", "Debian"),
    ({"ID": "ubuntu", "ID_LIKE": "debian", "NAME": "Ubuntu"}, "Ubuntu", "Debian"),
    ({"ID": "linuxmint", "ID_LIKE": "ubuntu", "NAME": "Linux Mint"}, "Mint", "Debian"),
    ({"ID": "rocky", "ID_LIKE": "rhel centos fedora", "NAME": "Rocky Linux"}, "Rocky", "RedHat"),
    ({"ID": "fedora", "NAME": "Fedora Linux"}, "Fedora", "RedHat"),
    ({"ID": "alpine", "NAME": "Alpine Linux"}, "Alpine", "Alpine"),
    ({"ID": "archarm", "ID_LIKE": "arch", "NAME": "Arch Linux ARM"}, "Arch ARM", "Arch"),
    ({"ID": "dietpi", "ID_LIKE": "debian", "NAME": "DietPi GNU/Linux"}, "DietPi", "Debian"),
    ({"ID": "nixos", "NAME": "NixOS"}, "NixOS", "Nixos"),
])
def test_os_and_os_family_follow_salt(fields: dict[str, str], os_name: str, family: str) -> None:
    assert (os_release.os_name(fields), os_release.os_family(fields)) == (os_name, family)


def test_debian_grains(tmp_path: Path) -> None:
    root = write_os_release(tmp_path, 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\n'
                                      "VERSION_CODENAME=bookworm\nID=debian\n")
    assert os_release.grains(root) == {
        "os": "Debian", "os_family": "Debian", "osfullname": "Debian GNU/Linux", "osrelease": "12",
        "oscodename": "bookworm", "osrelease_info": [12], "osmajorrelease": 12, "osfinger": "Debian-12",
    }


def test_the_codename_falls_back_to_the_one_in_version(tmp_path: Path) -> None:
    root = write_os_release(tmp_path, 'NAME="Raspbian GNU/Linux"\nVERSION_ID="8"\nVERSION="8 (jessie)"\n'
                                      "ID=raspbian\nID_LIKE=debian\n")
    assert os_release.grains(root)["oscodename"] == "jessie"


def test_a_rolling_release_has_no_release_grains(tmp_path: Path) -> None:
    root = write_os_release(tmp_path, 'NAME="Arch Linux"\nID=arch\nBUILD_ID=rolling\n')
    grains = os_release.grains(root)
    assert (grains["osrelease"], grains["oscodename"], grains["osrelease_info"]) == ("", "", [])
    assert "osmajorrelease" not in grains and "osfinger" not in grains


def test_fedora_fingers_with_its_full_name(tmp_path: Path) -> None:
    root = write_os_release(tmp_path, 'NAME="Fedora Linux"\nVERSION_ID=39\nID=fedora\n')
    assert os_release.grains(root)["osfinger"] == "Fedora Linux-39"


def test_usr_lib_os_release_is_the_fallback(tmp_path: Path) -> None:
    root = write_os_release(tmp_path, "NAME=Alpine\nID=alpine\nVERSION_ID=3.19.1\n", "usr/lib/os-release")
    grains = os_release.grains(root)
    assert (grains["os"], grains["osrelease_info"], grains["osmajorrelease"]) == ("Alpine", [3, 19, 1], 3)


def test_no_os_release_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="os-release"):
        os_release.grains(tmp_path)
