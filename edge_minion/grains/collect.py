"""Collecting the core grains: every source, each one allowed to fail alone.

``collect`` spawns no process: every grain comes from a file under ``root``,
``os.uname``, ``socket`` or psutil. Only files move with ``root``; names,
addresses, kernel and Python describe the machine that runs the call.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

from edge_minion.grains import board, cpu, hostname, kernel, machine, memory, network, os_release, python

log = logging.getLogger(__name__)

Source = Callable[[], dict[str, Any]]


def sources(root: Path = Path("/")) -> list[tuple[str, Source]]:
    """The grain sources, named, in the order their grains are laid over one another."""
    uname = os.uname()
    return [
        ("os_release", partial(os_release.grains, root)),
        ("kernel", partial(kernel.grains, uname)),
        ("cpu", partial(cpu.grains, root, uname)),
        ("memory", partial(memory.grains, root)),
        ("hostname", partial(hostname.grains, root, uname.nodename)),
        ("network", network.grains),
        ("machine", partial(machine.grains, root)),
        ("python", python.grains),
        ("board", partial(board.grains, root)),
    ]


def run_sources(minion_id: str, named: Iterable[tuple[str, Source]]) -> dict[str, Any]:
    """Call each source and merge what it returns; a source that raises is logged and skipped."""
    grains: dict[str, Any] = {"is_raspberry_pi": False}
    for name, source in named:
        try:
            grains.update(source())
        except Exception as exc:  # one broken source must never cost the others
            log.warning("grain source %r failed, its grains are skipped: %s: %s",
                        name, type(exc).__name__, exc)
            log.debug("grain source %r traceback", name, exc_info=True)
    grains["id"] = minion_id
    return grains


def collect(config_id: str, root: Path = Path("/")) -> dict[str, Any]:
    """The core grains of this machine (files read under ``root``), with ``id`` set to ``config_id``."""
    return run_sources(config_id, sources(root))
