"""The core grains equal what real Salt's ``salt-call --local grains.item`` reports on this machine.

Names (``fqdn``, ``host``, ``domain``) are left out on purpose: ours never wait
on DNS (see ``edge_minion/grains/hostname.py``); ``pythonexecutable`` differs by
construction (Salt runs from its own virtualenv).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from edge_minion.grains import collect

SALT_CALL = Path(__file__).resolve().parents[2] / ".salt-venv" / "bin" / "salt-call"

pytestmark = [pytest.mark.salt,
              pytest.mark.skipif(not SALT_CALL.exists(), reason="no .salt-venv (tools/setup makes it)")]

COMPARED = ("os", "os_family", "osfullname", "osrelease", "oscodename", "osrelease_info", "osmajorrelease",
            "osfinger", "kernel", "kernelrelease", "kernelversion", "cpuarch", "cpu_model", "num_cpus",
            "cpu_flags", "mem_total", "swap_total", "nodename", "localhost", "ipv4", "ipv6",
            "hwaddr_interfaces", "ip4_interfaces", "ip6_interfaces", "ip_interfaces", "machine_id",
            "pythonversion")
# Salt takes these from DMI on PCs, which we do not read; from the device tree they must agree.
DEVICE_TREE = ("productname", "serialnumber") if Path("/proc/device-tree").is_dir() else ()


def salt_grains(tmp_path: Path) -> dict[str, object]:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "minion").write_text(f"id: parity\nfile_client: local\nroot_dir: {tmp_path}\n"
                                f"cachedir: {tmp_path / 'cache'}\npki_dir: {tmp_path / 'pki'}\n"
                                f"log_file: {tmp_path / 'minion.log'}\n")
    proc = subprocess.run([str(SALT_CALL), "--local", "-c", str(etc), "--out=json", "grains.item", *COMPARED,
                           *DEVICE_TREE],
                          capture_output=True, text=True, timeout=120, check=True)
    result: dict[str, object] = json.loads(proc.stdout)["local"]
    return result


def test_core_grains_match_salt(tmp_path: Path) -> None:
    salt = salt_grains(tmp_path)
    ours = collect("parity")
    if salt["pythonversion"] != ours["pythonversion"]:
        salt.pop("pythonversion")  # Salt's virtualenv runs another interpreter
        ours.pop("pythonversion")
    differences = {key: (salt[key], ours.get(key, "")) for key in salt if ours.get(key, "") != salt[key]}
    assert differences == {}
