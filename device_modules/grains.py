"""``grains.*``: reading and setting this device's grains.

The grains come from ``ctx.grains`` (the minion's store: collected, configured
and persisted grains). Without a store, as when ``fleet-call`` runs where the
collector is missing, a few grains read from the standard library stand in
(``id``, ``kernel``, ``kernelrelease``, ``os``, ``cpuarch``, ``host``,
``pythonversion``), and writing grains fails with a clear error.

Reads take a ``:``-separated path into nested grains (``grains.get
ip_interfaces:eth0``); writes work on top-level keys.
"""

from __future__ import annotations

import platform
import socket
import sys
from typing import Any

from device_modules.context import DeviceContext, GrainStore
from device_modules.errors import DeviceError
from device_modules.spec import ModuleSpec

__all__ = ["MODULE", "fallback_grains", "traverse"]

_MISSING = object()


def fallback_grains(minion_id: str) -> dict[str, Any]:
    """The few grains the standard library can tell, for when there is no grain store."""
    try:
        os_name = platform.freedesktop_os_release().get("NAME", "").split()[0]
    except (OSError, IndexError):
        os_name = platform.system()
    release = sys.version_info
    return {
        "id": minion_id,
        "kernel": platform.system(),
        "kernelrelease": platform.release(),
        "os": os_name or platform.system(),
        "cpuarch": platform.machine(),
        "host": socket.gethostname().split(".")[0],
        "pythonversion": [release.major, release.minor, release.micro, release.releaselevel, release.serial],
    }


def traverse(data: Any, path: str, default: Any = None, delimiter: str = ":") -> Any:
    """Walk ``path`` (``a:b:0``) through nested dicts and lists; ``default`` when it leads nowhere.

    In a list, a step is an index when it is a number, else the first element
    that is a dict holding that key (Salt's ``traverse_dict_and_list``).
    """
    node = data
    for step in path.split(delimiter):
        if isinstance(node, dict):
            node = node.get(step, _MISSING)
        elif isinstance(node, list):
            node = _list_step(node, step)
        else:
            node = _MISSING
        if node is _MISSING:
            return default
    return node


def _list_step(items: list[Any], step: str) -> Any:
    try:
        return items[int(step)]
    except (ValueError, IndexError):
        pass
    for item in items:
        if isinstance(item, dict) and step in item:
            return item[step]
    return _MISSING


def _items(ctx: DeviceContext) -> dict[str, Any]:
    return ctx.grains.items() if ctx.grains is not None else fallback_grains(ctx.minion_id)


def _store(ctx: DeviceContext, verb: str) -> GrainStore:
    if ctx.grains is None:
        raise DeviceError(f"grains.{verb} needs the minion's grain store, which this process does not have "
                          "(edge_minion.grains is missing); only reading the built-in grains works")
    return ctx.grains


def items(ctx: DeviceContext) -> dict[str, Any]:
    """Every grain.

    CLI Example::

        fleet '*' grains.items
    """
    return _items(ctx)


def item(ctx: DeviceContext, *keys: str, default: Any = "", delimiter: str = ":") -> dict[str, Any]:
    """The grains named by ``keys`` (``:`` paths allowed), as ``{key: value}``; ``default`` for missing ones.

    CLI Example::

        fleet '*' grains.item os osrelease ip_interfaces:eth0
    """
    grains = _items(ctx)
    return {key: traverse(grains, key, default, delimiter) for key in keys}


def get(ctx: DeviceContext, key: str, default: Any = "", delimiter: str = ":") -> Any:
    """The grain at ``key``, a ``:``-separated path into nested grains; ``default`` when absent.

    CLI Example::

        fleet '*' grains.get pkg:apache
    """
    return traverse(_items(ctx), key, default, delimiter)


def ls(ctx: DeviceContext) -> list[str]:
    """The names of all grains, sorted.

    CLI Example::

        fleet '*' grains.ls
    """
    return sorted(_items(ctx))


def setval(ctx: DeviceContext, key: str, val: Any) -> dict[str, Any]:
    """Set grain ``key`` to ``val`` and persist it; returns ``{key: val}``.

    CLI Example::

        fleet '*' grains.setval role gateway
        fleet '*' grains.setval sensors "['temp', 'gps']"
    """
    _store(ctx, "setval").setval(key, val)
    return {key: val}


def delval(ctx: DeviceContext, key: str) -> dict[str, Any]:
    """Set grain ``key`` to ``None`` (Salt's ``delval``); returns ``{key: None}``.

    CLI Example::

        fleet '*' grains.delval role
    """
    _store(ctx, "delval").delval(key)
    return {key: None}


def append(ctx: DeviceContext, key: str, val: Any, convert: bool = False) -> dict[str, Any] | str:
    """Append ``val`` (each element, if a list) to list grain ``key``; returns ``{key: new_list}``.

    A missing grain starts as an empty list. As in Salt, a grain that is not a
    list, or a value already present, gives a message instead of a change;
    ``convert=True`` turns a non-list grain into a one-element list first.

    CLI Example::

        fleet '*' grains.append roles sensor-hub
    """
    store = _store(ctx, "append")
    with ctx.resources.lock("grains"):
        current = store.items().get(key)
        if convert and not isinstance(current, list):
            current = [] if current is None else [current]
        if current is None:
            current = []
        if not isinstance(current, list):
            return f"The key {key} is not a valid list"
        if val in current:
            return f"The val {val} was already in the list {key}"
        new = [*current, *val] if isinstance(val, list) else [*current, val]
        store.setval(key, new)
    return {key: new}


MODULE = ModuleSpec(
    name="grains",
    functions={
        "items": items,
        "item": item,
        "get": get,
        "ls": ls,
        "setval": setval,
        "delval": delval,
        "append": append,
    },
    doc="Reading and setting this device's grains.",
    idempotent=frozenset({"items", "item", "get", "ls", "setval", "delval"}),
)
