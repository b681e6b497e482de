"""Which backend a hardware module runs on: the real driver or its simulator.

``ctx.hardware_for(module)`` says ``"real"``, ``"sim"`` or ``"auto"``. The first
two are obeyed. ``"auto"`` asks a probe whether the hardware is here; when it
is not, the module falls back to its simulator and says why (gpiozero's
``PinFactoryFallback``, made a visible reason instead of a warning).

The default probe is "is this a Raspberry Pi": ``/proc/device-tree/model``
names one. Paths are read under the module's ``root:`` config key (default
``/``) so tests build fake trees instead of mocking.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from device_modules.context import DeviceContext

__all__ = ["Choice", "choose", "module_root", "not_a_pi", "under"]

MODEL = "proc/device-tree/model"


@dataclass(frozen=True)
class Choice:
    """The backend picked for a module, and why (empty when nothing to explain)."""

    mode: Literal["real", "sim"]
    reason: str = ""


def module_root(ctx: DeviceContext, module: str) -> Path:
    """The directory that stands for ``/`` when ``module`` reads /proc, /sys or /dev."""
    return Path(str(ctx.module_config(module).get("root", "/")))


def under(root: Path, path: str) -> Path:
    """``path`` (absolute or not) inside ``root``."""
    return root / path.lstrip("/")


def not_a_pi(root: Path) -> str | None:
    """Why this is not a Raspberry Pi, or ``None`` when it is one."""
    path = under(root, MODEL)
    try:
        model = path.read_bytes().rstrip(b"\0\n").decode("utf-8", "replace")
    except OSError:
        return "not a Raspberry Pi (no /proc/device-tree/model)"
    if "Raspberry Pi" not in model:
        return f"not a Raspberry Pi (model {model!r})"
    return None


def choose(ctx: DeviceContext, module: str, simulator: str,
           missing: Callable[[Path], str | None] = not_a_pi) -> Choice:
    """Pick ``real`` or ``sim`` for ``module``; ``simulator`` names the fallback in the reason."""
    mode = ctx.hardware_for(module)
    if mode == "sim":
        return Choice("sim", f"hardware is 'sim'; using {simulator}")
    if mode == "real":
        return Choice("real")
    why = missing(module_root(ctx, module))
    if why is None:
        return Choice("real")
    return Choice("sim", f"{why}; using {simulator}")
