"""The files ``fleet-image`` writes to the boot partition, rendered as text (no I/O here).

Everything the Pi needs at first boot lands under ``/boot/firmware/edgefleet/``:
``minion.yaml`` (without ``id``, which the installer adds, possibly from the
serial number), ``firstboot.env`` (the installer's settings, shell assignments),
and, when asked for, ``wifi.nmconnection``. The mechanism-specific glue is the
kernel command line (bookworm) or the cloud-init files (trixie).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

__all__ = ["FIRSTRUN_ARGS", "ID_PATTERN", "RUNCMD", "cmdline_with_firstrun", "cmdline_with_regdom",
           "firstboot_env", "merge_user_data", "meta_data", "minion_config", "wifi_nmconnection"]

BOOT_MOUNT = "/boot/firmware"
FIRSTRUN_ARGS = (f"systemd.run={BOOT_MOUNT}/firstrun.sh", "systemd.run_success_action=reboot",
                 "systemd.unit=kernel-command-line.target")
RUNCMD = ["bash", f"{BOOT_MOUNT}/edgefleet/firstboot.sh"]
#: Minion ids the installer accepts (also what a file name and a YAML plain scalar can hold).
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_RUN_ARG = re.compile(r"^(systemd\.run(_success_action|_failure_action)?=|systemd\.unit=kernel-command-line\.target$)")
_REGDOM = "cfg80211.ieee80211_regdom="


def minion_config(masters: Sequence[str], master_port: int, grains: Mapping[str, Any],
                  state_dir: str = "/var/lib/edgefleet/minion") -> str:
    """``/etc/edgefleet/minion.yaml`` less the ``id`` line."""
    data: dict[str, Any] = {"master": list(masters), "master_port": master_port, "state_dir": state_dir,
                            "hardware": "auto", "log_level": "info"}
    if grains:
        data["grains"] = dict(grains)
    header = "# Written by fleet-image prepare; the first-boot installer adds the id line.\n"
    return header + yaml.safe_dump(data, default_flow_style=False, sort_keys=False)


def firstboot_env(settings: Mapping[str, str]) -> str:
    """``KEY='value'`` lines the installer sources (values shell-quoted)."""
    lines = ["# Settings for firstboot.sh, written by fleet-image prepare."]
    lines += [f"{key}={shlex.quote(value)}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def wifi_nmconnection(ssid: str, psk: str | None, uuid: str, hidden: bool = False) -> str:
    """A NetworkManager keyfile (Raspberry Pi OS bookworm and trixie both use NetworkManager).

    Raises:
        ValueError: an SSID or key with a line break, or a WPA key of the wrong length.
    """
    if not ssid or any(c in ssid for c in "\r\n"):
        raise ValueError("the Wi-Fi SSID must be one non-empty line")
    if psk is not None and (any(c in psk for c in "\r\n") or not 8 <= len(psk) <= 64):
        raise ValueError("a WPA key is 8 to 63 characters (or 64 hex digits)")
    lines = ["[connection]", "id=edgefleet-wifi", f"uuid={uuid}", "type=wifi", "autoconnect=true", "",
             "[wifi]", "mode=infrastructure", f"ssid={ssid}"]
    if hidden:
        lines.append("hidden=true")
    if psk is not None:
        lines += ["", "[wifi-security]", "auth-alg=open", "key-mgmt=wpa-psk", f"psk={psk}"]
    lines += ["", "[ipv4]", "method=auto", "", "[ipv6]", "addr-gen-mode=default", "method=auto", ""]
    return "\n".join(lines)


def cmdline_with_regdom(cmdline: str, wifi_country: str | None) -> str:
    """``cmdline.txt`` with the Wi-Fi regulatory domain set, as Raspberry Pi Imager sets it."""
    words = cmdline.split()
    if wifi_country:
        words = [w for w in words if not w.startswith(_REGDOM)] + [_REGDOM + wifi_country.upper()]
    return " ".join(words) + "\n"


def cmdline_with_firstrun(cmdline: str, wifi_country: str | None = None) -> str:
    """``cmdline.txt`` that runs ``firstrun.sh`` once (replacing earlier ``systemd.run`` arguments)."""
    words = [w for w in cmdline_with_regdom(cmdline, wifi_country).split() if not _RUN_ARG.match(w)]
    return " ".join([*words, *FIRSTRUN_ARGS]) + "\n"


def merge_user_data(stock: str | None, fragment: str) -> str:
    """The image's cloud-init ``user-data`` with our ``runcmd`` entry added once.

    Without a ``runcmd`` in the stock file, the fragment's lines are appended as text,
    so the stock file's comments survive; otherwise the YAML is merged.

    Raises:
        ValueError: the stock file is not ``#cloud-config`` YAML holding a mapping.
    """
    ours = yaml.safe_load(fragment) or {}
    if not stock or not stock.strip():
        return fragment
    if not stock.lstrip().startswith("#cloud-config"):
        raise ValueError("the image's user-data is not a #cloud-config file; edit it by hand or "
                         "replace it with images/user-data.yaml")
    data = yaml.safe_load(stock) or {}
    if not isinstance(data, dict):
        raise ValueError("the image's user-data does not hold a YAML mapping")
    runcmd = data.get("runcmd") or []
    if any(entry in runcmd for entry in ours.get("runcmd", [])):
        return stock
    if "runcmd" not in data:
        body = "\n".join(line for line in fragment.splitlines() if not line.startswith("#cloud-config"))
        return stock.rstrip("\n") + "\n\n" + body.strip("\n") + "\n"
    data["runcmd"] = [*runcmd, *ours.get("runcmd", [])]
    return "#cloud-config\n" + yaml.safe_dump(data, default_flow_style=False, sort_keys=False)


def meta_data(stock: str | None, instance_id: str) -> str:
    """The image's ``meta-data``, or a minimal one naming a fresh instance, so ``runcmd`` runs."""
    if stock and stock.strip():
        return stock
    return f"instance-id: {instance_id}\n"
