"""Salt's ``ipcidr`` matcher: an address or a network against grains ``ipv4`` / ``ipv6``.

An address target matches when its canonical text is *in* the grain (list
membership, or substring when the grain is a single string, as in Salt). A
network target matches when any address of the grain lies inside it; entries
that are not addresses are skipped (Salt raises on them and drops the
publish). Networks are strict: ``10.1.0.1/16`` has host bits set and is
rejected, as ``ipaddress.ip_network`` rejects it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from edge_minion.targeting.errors import TargetSyntaxError

__all__ = ["CidrMatcher"]


class CidrMatcher:
    """Callable ``matcher(grains) -> bool`` for one address or network."""

    __slots__ = ("address", "network", "grain", "_base", "_mask", "_prefix", "_text", "_pton")

    def __init__(self, text: str, position: int = 0) -> None:
        """Raises TargetSyntaxError (``invalid CIDR at <position>: ...``) for anything else."""
        self.address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None
        self.network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
        try:
            self.address = ipaddress.ip_address(text)
        except ValueError:
            try:
                self.network = ipaddress.ip_network(text)
            except ValueError as exc:
                raise TargetSyntaxError("invalid CIDR", position, str(exc)) from exc
        version = (self.address or self.network).version  # type: ignore[union-attr]
        self.grain = f"ipv{version}"
        self._text = str(self.address) if self.address is not None else ""
        self._base = self._mask = -1
        self._prefix = ""
        self._pton: Callable[[str], int] | None = None
        if self.network is not None and version == 4:
            self._base = int(self.network.network_address)
            self._mask = int(self.network.netmask)
            self._pton = _ipv4_parser()
            if self.network.prefixlen % 8 == 0:
                # Every dotted quad inside the network starts with its whole octets.
                whole = self.network.prefixlen // 8
                octets = str(self.network.network_address).split(".")[:whole]
                self._prefix = ".".join(octets) + ("." if 0 < whole < 4 else "")

    def __repr__(self) -> str:
        return f"CidrMatcher({str(self.address or self.network)!r})"

    def __call__(self, grains: Mapping[str, Any]) -> bool:
        if self.grain not in grains:
            return False
        found = grains[self.grain]
        if self.address is not None:
            try:
                return self._text in found
            except TypeError:
                return False
        items = found if isinstance(found, (list, tuple)) else (found,)
        pton = self._pton
        if pton is None:
            return any(self._in_network(item) for item in items)
        prefix, mask, base = self._prefix, self._mask, self._base
        for item in items:
            if type(item) is str:
                if not item.startswith(prefix):
                    continue  # outside the network, or no IPv4 address at all
                try:
                    if pton(item) & mask == base:
                        return True
                    continue
                except (OSError, ValueError):
                    pass  # not a dotted quad: an IPv6 address (never inside an IPv4 network) or garbage
            if self._in_network(item):
                return True
        return False

    def split(self, pairs: Iterable[tuple[str, Mapping[str, Any] | None]]) -> tuple[set[str], set[str]]:
        """(ids matched, ids with no grains) among ``(id, grains or None)`` pairs; same verdicts as calling."""
        matched: set[str] = set()
        unknown: set[str] = set()
        pton = self._pton
        if pton is None:
            for mid, grains in pairs:
                if grains is None:
                    unknown.add(mid)
                elif self(grains):
                    matched.add(mid)
            return matched, unknown
        # An IPv4 network over plain dicts holding lists of strings, inlined; anything else goes through __call__.
        key, prefix, mask, base = self.grain, self._prefix, self._mask, self._base
        for mid, grains in pairs:
            if grains is None:
                unknown.add(mid)
                continue
            found = grains.get(key) if type(grains) is dict else None
            if type(found) is not list:
                if self(grains):
                    matched.add(mid)
                continue
            for item in found:
                if type(item) is not str:
                    if self._in_network(item):
                        matched.add(mid)
                        break
                    continue
                if not item.startswith(prefix):
                    continue
                try:
                    number = pton(item)
                except (OSError, ValueError):
                    if self._in_network(item):
                        matched.add(mid)
                        break
                    continue
                if number & mask == base:
                    matched.add(mid)
                    break
        return matched, unknown

    def _in_network(self, item: Any) -> bool:
        try:
            return ipaddress.ip_address(item) in self.network  # type: ignore[operator]
        except (ValueError, TypeError):
            return False


def _ipv4_parser() -> Callable[[str], int]:
    """Dotted quad -> int through ``inet_pton`` (a pure conversion, as strict as ipaddress), imported on demand."""
    import socket

    inet_pton, family = socket.inet_pton, socket.AF_INET

    def parse(text: str, _from_bytes: Callable[..., int] = int.from_bytes) -> int:
        return _from_bytes(inet_pton(family, text), "big")
    return parse
