"""Name and address grains: /etc/hosts before DNS, DNS bounded in time, Salt's address lists."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import NamedTuple

import psutil
import pytest

from edge_minion.grains import hostname, network


class Addr(NamedTuple):
    family: int
    address: str


def hosts(root: Path, text: str) -> Path:
    (root / "etc").mkdir(parents=True, exist_ok=True)
    (root / "etc" / "hosts").write_text(text, encoding="utf-8")
    return root


def never(name: str) -> str:
    raise AssertionError(f"DNS asked for {name}")


def test_a_dotted_hostname_is_its_own_fqdn(tmp_path: Path) -> None:
    grains = hostname.grains(tmp_path, "pi4.example.org", resolve=never)
    assert grains == {"nodename": "pi4.example.org", "localhost": "pi4.example.org",
                      "fqdn": "pi4.example.org", "host": "pi4", "domain": "example.org"}


@pytest.mark.parametrize("text, fqdn", [
    ("127.0.1.1 pi4.example.org pi4\n", "pi4.example.org"),
    ("127.0.1.1 pi4 pi4.example.org\n", "pi4.example.org"),
    ("127.0.1.1 PI4.Example.ORG Pi4 # comment\n", "PI4.Example.ORG"),
    ("127.0.1.1 pi4\n", "pi4"),
    ("# 127.0.1.1 pi4.commented.out pi4\n127.0.1.1 pi4\n", "pi4"),
    ("10.0.0.1 other.example.org pi4.wrong.org\n127.0.1.1 pi4\n", "pi4"),
])
def test_etc_hosts_settles_the_fqdn_without_dns(tmp_path: Path, text: str, fqdn: str) -> None:
    assert hostname.fqdn("pi4", hosts(tmp_path, text), resolve=never) == fqdn


def test_an_unlisted_name_asks_dns_and_takes_a_dotted_answer(tmp_path: Path) -> None:
    root = hosts(tmp_path, "127.0.0.1 localhost\n")
    assert hostname.fqdn("pi4", root, resolve=lambda name: f"{name}.lan") == "pi4.lan"


@pytest.mark.parametrize("answer", ["localhost", "pi4", "other.example.org"])
def test_a_dns_answer_that_is_not_this_host_dotted_is_ignored(tmp_path: Path, answer: str) -> None:
    assert hostname.fqdn("pi4", tmp_path, resolve=lambda name: answer) == "pi4"


def test_a_failing_dns_lookup_gives_the_hostname(tmp_path: Path) -> None:
    def fail(name: str) -> str:
        raise socket.gaierror("no network")

    assert hostname.fqdn("pi4", tmp_path, resolve=fail) == "pi4"


def test_a_slow_dns_lookup_is_not_waited_for(tmp_path: Path) -> None:
    release = threading.Event()

    def slow(name: str) -> str:
        release.wait(10)
        return f"{name}.slow.example.org"

    start = time.monotonic()
    try:
        assert hostname.fqdn("pi4", tmp_path, resolve=slow, timeout=0.05) == "pi4"
    finally:
        release.set()
    assert time.monotonic() - start < 2


def test_addresses_are_salts_lists(tmp_path: Path) -> None:
    v4, v6, link = socket.AF_INET, socket.AF_INET6, psutil.AF_LINK
    grains = network.grains({
        "lo": [Addr(v4, "127.0.0.1"), Addr(v6, "::1"), Addr(link, "00:00:00:00:00:00")],
        "eth0": [Addr(v4, "192.168.1.20"), Addr(v4, "10.0.0.2"), Addr(v6, "fe80::1%eth0"),
                 Addr(link, "dc:a6:32:01:02:03")],
        "wlan0": [Addr(v4, "9.9.9.9"), Addr(v4, "10.0.0.2"), Addr(link, "dc:a6:32:0a:0b:0c")],
        "can0": [],
    })
    assert grains["ipv4"] == ["9.9.9.9", "10.0.0.2", "127.0.0.1", "192.168.1.20"]  # numeric order, unique
    assert grains["ipv6"] == ["::1", "fe80::1"]
    assert grains["hwaddr_interfaces"] == {"lo": "00:00:00:00:00:00", "eth0": "dc:a6:32:01:02:03",
                                           "wlan0": "dc:a6:32:0a:0b:0c"}
    assert grains["ip4_interfaces"]["eth0"] == ["192.168.1.20", "10.0.0.2"]
    assert grains["ip_interfaces"]["eth0"] == ["192.168.1.20", "10.0.0.2", "fe80::1"]
    assert grains["ip_interfaces"]["can0"] == []


def test_this_machines_addresses_include_loopback() -> None:
    grains = network.grains()
    assert "127.0.0.1" in grains["ipv4"]
    assert set(grains["hwaddr_interfaces"]) <= set(psutil.net_if_addrs())
