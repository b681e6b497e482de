"""``machine_id`` from systemd's ``/etc/machine-id``, else D-Bus's copy.

A missing, empty or ``uninitialized`` id (a fresh image before first boot)
gives no grain rather than an error: Salt omits it too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge_minion.grains.files import read_text

_PATHS = ("/etc/machine-id", "/var/lib/dbus/machine-id")


def grains(root: Path = Path("/")) -> dict[str, Any]:
    for path in _PATHS:
        text = (read_text(root, path) or "").strip()
        if text and text != "uninitialized":
            return {"machine_id": text}
    return {}
