"""Address grains from ``psutil.net_if_addrs()``.

``ipv4`` and ``ipv6`` list every address, loopback included (``127.0.0.1``,
``::1``), unique and sorted, as Salt's ``ip_addrs(include_loopback=True)``;
IPv6 zone suffixes (``%eth0``) are dropped. ``hwaddr_interfaces`` maps every
interface with a link-layer address (``lo`` too) to it. ``ip4_interfaces``,
``ip6_interfaces`` and ``ip_interfaces`` map each interface to its addresses.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import psutil


class IfAddr(Protocol):
    """One address of an interface, as psutil's ``snicaddr``."""

    @property
    def family(self) -> int: ...

    @property
    def address(self) -> str: ...


Interfaces = Mapping[str, Sequence[IfAddr]]


def _sorted_unique(addresses: list[str]) -> list[str]:
    unique = {ipaddress.ip_address(a) for a in addresses}
    return [str(a) for a in sorted(unique, key=lambda a: (a.version, int(a)))]


def grains(interfaces: Interfaces | None = None) -> dict[str, Any]:
    """Address grains for ``interfaces`` (default: this machine's, from psutil)."""
    ifaces: Interfaces = interfaces if interfaces is not None else psutil.net_if_addrs()
    ip4: dict[str, list[str]] = {}
    ip6: dict[str, list[str]] = {}
    hwaddr: dict[str, str] = {}
    for name, addrs in ifaces.items():
        ip4[name] = [a.address for a in addrs if a.family == socket.AF_INET]
        ip6[name] = [a.address.partition("%")[0] for a in addrs if a.family == socket.AF_INET6]
        link = [a.address for a in addrs if a.family == psutil.AF_LINK]
        if link:
            hwaddr[name] = link[0]
    return {
        "ipv4": _sorted_unique([a for addrs in ip4.values() for a in addrs]),
        "ipv6": _sorted_unique([a for addrs in ip6.values() for a in addrs]),
        "hwaddr_interfaces": hwaddr,
        "ip4_interfaces": ip4,
        "ip6_interfaces": ip6,
        "ip_interfaces": {name: ip4[name] + ip6[name] for name in ifaces},
    }
