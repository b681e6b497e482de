"""Board grains: ``is_raspberry_pi``, ``model``, ``serialnumber`` and ``board`` (the decoded revision).

Sources, first found wins:

* ``model``: ``/proc/device-tree/model`` (NUL-terminated), else cpuinfo ``Model``;
* ``productname`` (and ``manufacturer`` for a ``maker,model`` string): the
  device-tree model, as Salt reports it;
* ``serialnumber``: ``/proc/device-tree/serial-number``, ``system-id``, else cpuinfo ``Serial``;
* revision code: cpuinfo ``Revision``, else ``/proc/device-tree/system/linux,revision``
  (a 32-bit big-endian cell).

A board is a Raspberry Pi when the device tree or cpuinfo names one, or, on
kernels too old for either, when cpuinfo's ``Hardware`` is a Pi SoC. The
revision is decoded only on a Pi: other ARM boards print codes of their own.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from edge_minion.grains import revision
from edge_minion.grains.cpuinfo import CpuInfo, read_cpuinfo
from edge_minion.grains.errors import UnknownRevision
from edge_minion.grains.files import read_bytes, read_dt_string

log = logging.getLogger(__name__)

_PI_SOCS = {"BCM2708", "BCM2709", "BCM2710", "BCM2835", "BCM2836", "BCM2837", "BCM2711", "BCM2712"}
_PI_PREFIX = "Raspberry Pi"


def _cpuinfo(root: Path) -> CpuInfo:
    try:
        return read_cpuinfo(root)
    except FileNotFoundError:
        return CpuInfo(())


def _dt_revision(root: Path) -> tuple[int, str | None] | None:
    data = read_bytes(root, "/proc/device-tree/system/linux,revision")
    if not data:
        return None
    if len(data) == 4:  # the usual form: one big-endian u32 cell
        return int.from_bytes(data, "big"), None
    text = data.split(b"\0", 1)[0].decode("ascii", errors="replace")
    return revision.parse_code(text), text


def is_raspberry_pi(root: Path, info: CpuInfo | None = None) -> bool:
    """Whether ``root`` describes a Raspberry Pi (see the module docstring)."""
    info = info if info is not None else _cpuinfo(root)
    model = read_dt_string(root, "/proc/device-tree/model") or info.first("Model") or ""
    if model.startswith(_PI_PREFIX):
        return True
    compatible = read_bytes(root, "/proc/device-tree/compatible") or b""
    if any(item.startswith(b"raspberrypi,") for item in compatible.split(b"\0")):
        return True
    return info.first("Hardware") in _PI_SOCS and info.first("Revision") is not None


def _board(root: Path, info: CpuInfo) -> dict[str, Any] | None:
    text = info.first("Revision")
    try:
        if text is not None:
            return revision.decode(revision.parse_code(text), text)
        found = _dt_revision(root)
        if found is None:
            return None
        return revision.decode(*found)
    except UnknownRevision as exc:
        log.warning("Raspberry Pi board not decoded: %s", exc)
        return {"revision": (text or "").strip().lower()} if text else None


def grains(root: Path = Path("/")) -> dict[str, Any]:
    """Board grains; on anything but a Pi, ``is_raspberry_pi`` and whatever the device tree names."""
    info = _cpuinfo(root)
    out: dict[str, Any] = {"is_raspberry_pi": is_raspberry_pi(root, info)}
    dt_model = read_dt_string(root, "/proc/device-tree/model")
    if dt_model:
        maker, comma, product = dt_model.partition(",")  # the spec's "manufacturer,model" form
        out.update({"manufacturer": maker, "productname": product} if comma else {"productname": dt_model})
    model = dt_model or info.first("Model")
    if model:
        out["model"] = model
    serial = (read_dt_string(root, "/proc/device-tree/serial-number")
              or read_dt_string(root, "/proc/device-tree/system-id") or info.first("Serial"))
    if serial:
        out["serialnumber"] = serial
    if out["is_raspberry_pi"]:
        board = _board(root, info)
        if board is not None:
            out["board"] = board
    return out
