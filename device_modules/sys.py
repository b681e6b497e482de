"""``sys.*``: what this device can run, and the documentation of each function.

These functions read the registry that loaded them, which puts itself in
``ctx.extra["registry"]`` (:data:`device_modules.registry.CTX_KEY`) when it is
built. A pattern is a glob on ``mod.fun`` (``test.*``, ``*.run``), a module
name (``cmd``) or a function name (``test.ping``).
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from device_modules.context import DeviceContext
from device_modules.errors import DeviceError
from device_modules.registry import CTX_KEY, Registry
from device_modules.spec import Availability, ModuleSpec

__all__ = ["MODULE"]


def _registry(ctx: DeviceContext) -> Registry:
    registry = ctx.extra.get(CTX_KEY)
    if not isinstance(registry, Registry):
        raise DeviceError(f"sys.* needs the registry in ctx.extra[{CTX_KEY!r}], found {registry!r}")
    return registry


def list_functions(ctx: DeviceContext, *patterns: str) -> list[str]:
    """Names of the functions that can run here, sorted; all of them without ``patterns``.

    CLI Example::

        fleet '*' sys.list_functions
        fleet '*' sys.list_functions cmd 'test.*'
    """
    registry = _registry(ctx)
    if not patterns:
        return registry.list_functions()
    return sorted({fun for pattern in patterns for fun in registry.list_functions(pattern)})


def list_modules(ctx: DeviceContext, *patterns: str) -> list[str]:
    """Names of the modules that can run here, sorted; globs in ``patterns`` filter them.

    CLI Example::

        fleet '*' sys.list_modules
        fleet '*' sys.list_modules 'g*'
    """
    names = _registry(ctx).list_modules()
    return [n for n in names if not patterns or any(fnmatchcase(n, p) for p in patterns)]


def doc(ctx: DeviceContext, *names: str) -> dict[str, str]:
    """Docstrings of the functions named by ``names``, as ``{mod.fun: text}``; all without names.

    CLI Example::

        fleet '*' sys.doc test.ping
        fleet '*' sys.doc cmd
    """
    registry = _registry(ctx)
    if not names:
        return registry.doc()
    found: dict[str, str] = {}
    for name in names:
        found.update(registry.doc(name))
    return dict(sorted(found.items()))


def list_unavailable(ctx: DeviceContext) -> dict[str, str]:
    """Modules that cannot run here, each with the reason.

    CLI Example::

        fleet '*' sys.list_unavailable
    """
    return _registry(ctx).unavailable()


def _available(ctx: DeviceContext) -> Availability:
    if isinstance(ctx.extra.get(CTX_KEY), Registry):
        return Availability.yes()
    return Availability.no(f"no registry in ctx.extra[{CTX_KEY!r}]")


MODULE = ModuleSpec(
    name="sys",
    functions={
        "list_functions": list_functions,
        "list_modules": list_modules,
        "doc": doc,
        "list_unavailable": list_unavailable,
    },
    available=_available,
    doc="What this device can run, and the documentation of each function.",
    idempotent=frozenset({"list_functions", "list_modules", "doc", "list_unavailable"}),
)
