"""What a device function receives instead of Salt's injected dunders.

Every public device function takes ``ctx: DeviceContext`` as its first
argument. The context is built once per minion process (``fleet-call`` builds
its own) and carries explicit dependencies: configuration, grains, the
hardware mode, the table of running jobs and the pool of hardware resources.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

HardwareMode = Literal["auto", "real", "sim"]

T = TypeVar("T")


class RunningJobs(Protocol):
    """The minion's table of jobs in progress (for ``saltutil.*``)."""

    def running(self) -> list[dict[str, Any]]:
        """Every job now running, as Salt's ``saltutil.running`` shows it."""
        ...

    def find(self, jid: str) -> dict[str, Any]:
        """The running job ``jid`` (``{}`` when it is not running)."""
        ...


class GrainStore(Protocol):
    """Grains of this device: collected ones plus persisted static ones."""

    def items(self) -> dict[str, Any]: ...

    def setval(self, key: str, value: Any) -> None: ...

    def delval(self, key: str) -> None: ...

    def refresh(self) -> dict[str, Any]: ...


class NoJobs:
    """A :class:`RunningJobs` with nothing running (for ``fleet-call``)."""

    def running(self) -> list[dict[str, Any]]:
        return []

    def find(self, jid: str) -> dict[str, Any]:
        return {}


class ResourcePool:
    """Hardware handles owned by this process, one per name, each with a lock.

    A backend that talks to a port is created once (``get``) and every call
    that uses it holds its lock (``lock``), so concurrent jobs on the same
    device are serialised, never interleaved.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._items: dict[str, Any] = {}
        self._locks: dict[str, threading.RLock] = {}

    def get(self, name: str, factory: Callable[[], T]) -> T:
        with self._guard:
            if name not in self._items:
                self._items[name] = factory()
                self._locks.setdefault(name, threading.RLock())
            return self._items[name]  # type: ignore[no-any-return]

    def lock(self, name: str) -> threading.RLock:
        with self._guard:
            return self._locks.setdefault(name, threading.RLock())

    def discard(self, name: str) -> None:
        """Forget a handle (after an error), closing it if it can be closed."""
        with self._guard:
            item = self._items.pop(name, None)
        close = getattr(item, "close", None)
        if callable(close):
            try:
                close()
            except Exception:  # closing a broken handle must not mask the first error
                logging.getLogger(__name__).debug("closing %s failed", name, exc_info=True)

    def close(self) -> None:
        for name in list(self._items):
            self.discard(name)


@dataclass
class DeviceContext:
    """Explicit dependencies of a device function."""

    minion_id: str
    config: Mapping[str, Any] = field(default_factory=dict)
    grains: GrainStore | None = None
    hardware: HardwareMode = "auto"
    state_dir: Path = Path(".")
    jobs: RunningJobs = field(default_factory=NoJobs)
    resources: ResourcePool = field(default_factory=ResourcePool)
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("device_modules"))
    extra: MutableMapping[str, Any] = field(default_factory=dict)

    def module_config(self, module: str) -> Mapping[str, Any]:
        """The config section for ``module`` (``{}`` when absent)."""
        section = self.config.get(module) or {}
        return section if isinstance(section, Mapping) else {}

    def hardware_for(self, module: str) -> HardwareMode:
        """The hardware mode for ``module``: its own ``hardware:`` key wins."""
        mode = self.module_config(module).get("hardware", self.hardware)
        return mode if mode in ("auto", "real", "sim") else "auto"
