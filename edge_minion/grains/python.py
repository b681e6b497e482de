"""Interpreter grains: ``pythonversion`` (Salt's list), ``pythonexecutable``, ``edgefleet_version``."""

from __future__ import annotations

import sys
from typing import Any

from edge_minion import __version__


def grains() -> dict[str, Any]:
    """``pythonversion`` is ``[3, 11, 7, 'final', 0]``, as Salt's ``list(sys.version_info)``."""
    return {
        "pythonversion": list(sys.version_info),
        "pythonexecutable": sys.executable,
        "edgefleet_version": __version__,
    }
