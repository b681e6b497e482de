"""How a device module declares itself to the registry.

Each module (``device_modules/test.py``, ``device_modules/obd/__init__.py``...)
ends with one literal declaration::

    MODULE = ModuleSpec(
        name="test",
        functions={"ping": ping, "echo": echo},
        available=None,          # or a callable ctx -> Availability
    )

Functions take ``ctx: DeviceContext`` first, then typed arguments; their
docstrings are what ``sys.doc`` shows and must carry a ``CLI Example:`` line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from device_modules.context import DeviceContext


@dataclass(frozen=True)
class Availability:
    """Whether a module can run here, and if not, why (Salt's ``__virtual__``)."""

    ok: bool
    reason: str = ""
    backend: str = ""

    @classmethod
    def yes(cls, backend: str = "") -> Availability:
        return cls(True, "", backend)

    @classmethod
    def no(cls, reason: str) -> Availability:
        return cls(False, reason)


@dataclass(frozen=True)
class ModuleSpec:
    """A module's name, its public functions and its availability check."""

    name: str
    functions: Mapping[str, Callable[..., Any]]
    available: Callable[[DeviceContext], Availability] | None = None
    doc: str = ""
    # Functions that may be re-run after a power cut (the inbox replays them).
    idempotent: frozenset[str] = field(default_factory=frozenset)
