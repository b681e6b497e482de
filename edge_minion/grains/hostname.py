"""Name grains: ``nodename``, ``localhost``, ``fqdn``, ``host``, ``domain``.

``fqdn`` never waits on slow DNS. In order:

1. a hostname that already holds a dot is the FQDN;
2. ``/etc/hosts``: on a line that lists the hostname, the first dotted name whose
   first label is the hostname (Debian's ``127.0.1.1 pi4.example.org pi4``); a line
   that lists the hostname with no dotted name settles it as the bare hostname,
   as the resolver's files-first lookup would;
3. ``socket.getfqdn`` in a worker thread, waited on for ``timeout`` seconds
   (default 0.5). Its answer counts only if it is dotted and starts with the
   hostname (``getfqdn`` happily answers ``localhost``); otherwise, or on
   timeout, the FQDN is the hostname. A timed-out lookup is left to finish on
   its own daemon thread.

``host`` and ``domain`` split the FQDN at its first dot, as Salt does.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge_minion.grains.files import read_text

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 0.5


def _first_label(name: str) -> str:
    return name.partition(".")[0].lower()


def from_hosts_file(text: str, hostname: str) -> str | None:
    """The FQDN ``/etc/hosts`` gives ``hostname``; ``hostname`` if it is listed undotted; else ``None``."""
    wanted = hostname.lower()
    listed = False
    for line in text.splitlines():
        names = line.partition("#")[0].split()[1:]  # the first field is the address
        if wanted not in (name.lower() for name in names):
            continue
        listed = True
        for name in names:
            if "." in name and _first_label(name) == wanted:
                return name
    return hostname if listed else None


def _lookup(resolve: Callable[[str], str], hostname: str, timeout: float) -> str | None:
    answer: list[str] = []

    def run() -> None:
        try:
            answer.append(resolve(hostname))
        except (OSError, UnicodeError) as exc:
            log.debug("FQDN lookup of %s failed: %s", hostname, exc)

    worker = threading.Thread(target=run, name="grains-fqdn", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        log.info("FQDN lookup of %s took over %.1fs; using the hostname", hostname, timeout)
        return None
    return answer[0] if answer else None


def fqdn(hostname: str, root: Path = Path("/"), resolve: Callable[[str], str] = socket.getfqdn,
         timeout: float = DEFAULT_TIMEOUT) -> str:
    """The fully qualified name of ``hostname`` (see the module docstring for the order)."""
    if "." in hostname:
        return hostname
    hosts = read_text(root, "/etc/hosts")
    if hosts is not None:
        found = from_hosts_file(hosts, hostname)
        if found is not None:
            return found
    answer = _lookup(resolve, hostname, timeout)
    if answer and "." in answer and _first_label(answer) == hostname.lower():
        return answer
    return hostname


def grains(root: Path = Path("/"), hostname: str | None = None,
           resolve: Callable[[str], str] = socket.getfqdn,
           timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
    """Name grains for ``hostname`` (default: this machine's, which is also uname's nodename on Linux)."""
    name = hostname if hostname is not None else socket.gethostname()
    full = fqdn(name, root, resolve, timeout)
    host, _, domain = full.partition(".")
    return {"nodename": name, "localhost": name, "fqdn": full, "host": host, "domain": domain}
