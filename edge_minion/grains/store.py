"""``Grains``: this minion's grains, the :class:`~device_modules.context.GrainStore` of the device context.

Layers, later wins: collected core grains (plus ``hardware`` and
``edgefleet_modules`` when a hardware report is given) < the config's
``grains:`` < grains persisted with ``setval``/``append``/``delval`` in
``state_dir/grains.yaml``. ``id`` is always the minion id.

Salt lets the minion config's ``grains:`` shadow ``/etc/salt/grains``; here the
persisted file wins, so a ``grains.setval`` always takes effect.

Core grains are collected once, on first use, and again on :meth:`Grains.refresh`;
the persisted file is read at construction and on refresh (so hand edits are
picked up). A corrupt file is logged as an error and ignored: the collected and
configured grains stay. The next write keeps the bad file as
``grains.yaml.corrupt`` before writing a fresh one.

Thread-safe: job threads may write while the connection reads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from edge_minion.grains.collect import collect
from edge_minion.grains.errors import GrainsError, GrainTypeError
from edge_minion.grains.grains_file import FILENAME, GrainsFile, to_yaml_value
from edge_minion.grains.hardware import hardware_grains

log = logging.getLogger(__name__)

HardwareReport = Callable[[], Mapping[str, Any]]
ChangeHook = Callable[[dict[str, Any]], None]


class Grains:
    """Collected, configured and persisted grains, merged.

    ``on_change(items)`` is called, outside any lock, whenever a ``setval``,
    ``delval``, ``append`` or ``refresh`` leaves the merged grains different from
    before, so the minion can resend them to the master. ``hardware`` is the
    configured hardware mode (auto/real/sim) that the ``hardware`` grain reports.
    """

    def __init__(self, minion_id: str, static: Mapping[str, Any], state_dir: Path,
                 root: Path = Path("/"), hardware_report: HardwareReport | None = None,
                 on_change: ChangeHook | None = None, hardware: str = "auto") -> None:
        self.minion_id = minion_id
        self.root = root
        self.file = GrainsFile(state_dir / FILENAME)
        self._static = _copy_grains(dict(static))
        self._hardware_report = hardware_report
        self._hardware = hardware
        self._on_change = on_change
        self._lock = threading.RLock()
        self._collected: dict[str, Any] | None = None
        self._items: dict[str, Any] | None = None
        self._corrupt = False
        self._persisted = self._load()

    # ---- GrainStore ---------------------------------------------------------------------

    def items(self) -> dict[str, Any]:
        """Every grain (a copy: changing it changes nothing here)."""
        with self._lock:
            return _copy_grains(self._current())

    def setval(self, key: str, value: Any) -> None:
        """Set top-level grain ``key`` to ``value`` and persist it (Salt's ``grains.setval``).

        Raises:
            GrainTypeError: ``key`` is not a non-empty string, or YAML cannot hold ``value``.
            GrainsFileError: the file cannot be written (nothing changes then).
        """
        _check_key(key)
        stored = to_yaml_value(value)
        self._write(lambda persisted: {**persisted, key: stored})

    def delval(self, key: str, destructive: bool = False) -> None:
        """Salt's ``grains.delval``: persist ``key`` as ``None``; with ``destructive``, drop it from the file.

        Dropping it lets a collected or configured grain of that name show again.
        """
        _check_key(key)
        if destructive:
            self._write(lambda persisted: {k: v for k, v in persisted.items() if k != key})
        else:
            self._write(lambda persisted: {**persisted, key: None})

    def delkey(self, key: str) -> None:
        """Salt's ``grains.delkey``: ``delval(key, destructive=True)``."""
        self.delval(key, destructive=True)

    def append(self, key: str, value: Any, convert: bool = False) -> None:
        """Append ``value`` to list grain ``key`` and persist it (Salt's ``grains.append``).

        A missing grain becomes ``[value]``; a value already in the list is not
        added twice. ``convert`` turns a grain that is not a list into one.

        Raises:
            GrainTypeError: the grain is not a list and ``convert`` is false.
        """
        _check_key(key)
        stored = to_yaml_value(value)

        def update(persisted: dict[str, Any]) -> dict[str, Any]:
            current = self._current().get(key)
            if current is None:
                new: list[Any] = [stored]
            elif isinstance(current, list):
                new = current if stored in current else [*current, stored]
            elif convert:
                new = [current, stored]
            else:
                raise GrainTypeError(f"grain {key!r} is not a list (it is a {type(current).__name__})")
            return {**persisted, key: _copy(new)}

        self._write(update)

    def refresh(self) -> dict[str, Any]:
        """Collect the core grains again, re-read the file, and return every grain."""
        collected = self._collect()
        with self._lock:
            before = self._items
            self._persisted = self._load()
            self._collected = collected
            after = self._merge()
            self._items = after
            result = _copy_grains(after)
        if before is not None and after != before:
            self._notify(_copy_grains(after))
        return result

    # ---- internals ----------------------------------------------------------------------

    def _current(self) -> dict[str, Any]:
        # Caller holds the lock.
        if self._items is None:
            if self._collected is None:
                self._collected = self._collect()
            self._items = self._merge()
        return self._items

    def _merge(self) -> dict[str, Any]:
        assert self._collected is not None
        merged = {**self._collected, **_copy_grains(self._static), **_copy_grains(self._persisted)}
        merged["id"] = self.minion_id
        return merged

    def _collect(self) -> dict[str, Any]:
        grains = collect(self.minion_id, self.root)
        if self._hardware_report is not None:
            try:
                report = dict(self._hardware_report())
            except Exception as exc:  # a broken report must not cost the core grains
                log.warning("hardware report failed, edgefleet_modules is empty: %s", exc)
                report = {}
            grains.update(hardware_grains(self._hardware, bool(grains.get("is_raspberry_pi")), report))
        return grains

    def _load(self) -> dict[str, Any]:
        try:
            persisted = self.file.load()
        except GrainsError as exc:
            log.error("%s; its grains are ignored (collected and configured grains still apply) "
                      "until it is fixed by hand or a grains write replaces it", exc)
            self._corrupt = True
            return {}
        self._corrupt = False
        return persisted

    def _write(self, update: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        with self._lock:
            before = self._current()  # never mutated in place: every change builds a new dict
            persisted = update(dict(self._persisted))
            if self._corrupt and self.file.path.exists():
                aside = self.file.set_aside()
                log.warning("kept the unreadable grains file as %s before writing a new one", aside)
            self.file.save(persisted)
            self._corrupt = False
            self._persisted = persisted
            self._items = self._merge()
            after = _copy_grains(self._items)
        if after != before:
            self._notify(after)

    def _notify(self, items: dict[str, Any]) -> None:
        if self._on_change is None:
            return
        try:
            self._on_change(items)
        except Exception:  # the grains are already saved; a failing listener must not undo that
            log.exception("grains on_change callback failed")


def _copy(value: Any) -> Any:
    """A deep copy of grain data (dicts, lists, scalars): several times cheaper than ``copy.deepcopy``."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _copy_grains(grains: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _copy(value) for key, value in grains.items()}


def _check_key(key: object) -> None:
    if not isinstance(key, str) or not key:
        raise GrainTypeError(f"a grain key must be a non-empty string, not {key!r}")
