"""The table of device modules, loaded lazily, and the one place functions are called.

Where modules come from: the literal :data:`MODULES` table (name -> import path)
plus the ``edgefleet.device_modules`` entry-point group, whose entries name a
module holding ``MODULE`` or, as ``pkg.mod:ATTR``, the :class:`ModuleSpec`
itself. The table wins over an entry point of the same name.

Rules:

1. A module is imported the first time anything asks for it. An import that
   fails for any reason, a missing or malformed ``MODULE``, or an
   ``available(ctx)`` that raises or says no makes the module *unavailable*
   with a reason; nothing is raised at load, and other modules are unaffected.
2. ``available(ctx)`` runs once, at load.
3. :meth:`Registry.call` binds arguments to the real signature and checks
   simple annotations before the function runs (see :func:`check_value`).
4. The registry stores itself in ``ctx.extra["registry"]`` (:data:`CTX_KEY`)
   so that the ``sys`` module can list and document functions.

Thread-safe: jobs may load and call modules from several threads at once.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from device_modules.args import resolve_annotation, simple_types, yamlify_arg
from device_modules.context import DeviceContext
from device_modules.errors import FunctionUnavailable, InvalidArguments
from device_modules.spec import Availability, ModuleSpec

__all__ = ["CTX_KEY", "ENTRY_POINT_GROUP", "MODULES", "Registry", "check_value", "matches"]

log = logging.getLogger(__name__)

MODULES: Mapping[str, str] = {
    "test": "device_modules.test",
    "cmd": "device_modules.cmd",
    "grains": "device_modules.grains",
    "sys": "device_modules.sys",
    "saltutil": "device_modules.saltutil",
    "gpio": "device_modules.gpio",
    "serial": "device_modules.serial",
    "obd": "device_modules.obd",
    "can": "device_modules.can",
    "power": "device_modules.power",
    "schedule": "device_modules.schedule",
}

ENTRY_POINT_GROUP = "edgefleet.device_modules"

#: Key under which the registry puts itself in ``ctx.extra``.
CTX_KEY = "registry"

Source = str | ModuleSpec


def matches(fun: str, pattern: str) -> bool:
    """Salt's ``sys.*`` matching: a glob on ``mod.fun``, else the function itself or a whole module."""
    if any(c in pattern for c in "*?["):
        return fnmatchcase(fun, pattern)
    return fun == pattern or fun.startswith(pattern + ".")


def check_value(name: str, annotation: Any, value: Any) -> Any:
    """``value`` if it fits a simple ``annotation``, else converted as below, else refused.

    Checked: ``int``, ``float``, ``bool``, ``str``, ``list``, ``dict``, ``None``
    and unions of them; anything else passes. A string becomes a number, bool,
    list or dict only if :func:`~device_modules.args.yamlify_arg` reads it as
    one (what Salt's CLI would have sent). An int or float given for ``str`` is
    turned back into text, because a stock Salt CLI YAML-loads ``test.echo 1``
    before publishing. ``bool`` never counts as ``int``.

    Raises:
        InvalidArguments: the value does not fit (message names the parameter).
    """
    allowed = simple_types(annotation)
    if allowed is None or _fits(value, allowed):
        return value
    if isinstance(value, str):
        loaded = yamlify_arg(value)
        if loaded is not value and not isinstance(loaded, str) and _fits(loaded, allowed):
            return loaded
    if str in allowed and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    wanted = " | ".join(sorted("None" if t is type(None) else t.__name__ for t in allowed))
    raise InvalidArguments(f"argument {name!r} must be {wanted}, got {type(value).__name__} {value!r}")


def _fits(value: Any, allowed: frozenset[type]) -> bool:
    if isinstance(value, bool):
        return bool in allowed
    if isinstance(value, int) and (int in allowed or float in allowed):
        return True
    return any(isinstance(value, t) for t in allowed if t not in (int, bool))


@dataclass(frozen=True)
class _Loaded:
    availability: Availability
    functions: Mapping[str, Callable[..., Any]]
    idempotent: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _Target:
    fun: str
    fn: Callable[..., Any]
    signature: inspect.Signature
    annotations: Mapping[str, Any]

    @property
    def usage(self) -> str:
        params = [p.replace(annotation=_Written(p.annotation)) if isinstance(p.annotation, str) else p
                  for p in list(self.signature.parameters.values())[1:]]
        shown = self.signature.replace(parameters=params, return_annotation=inspect.Signature.empty)
        return f"{self.fun}{shown}"


class _Written(str):
    """An annotation shown as written (``str | None``), not quoted."""

    def __repr__(self) -> str:
        return str(self)


class Registry:
    """Device modules by name, loaded on first use; see the module docstring.

    ``modules`` maps a name to an import path (``pkg.mod`` or ``pkg.mod:ATTR``)
    or directly to a :class:`ModuleSpec`. With ``entry_points`` the installed
    ``edgefleet.device_modules`` plugins are added.
    """

    def __init__(self, ctx: DeviceContext, modules: Mapping[str, Source] = MODULES,
                 entry_points: bool = True) -> None:
        self.ctx = ctx
        self._sources: dict[str, Source] = dict(_plugins()) if entry_points else {}
        self._sources.update(modules)
        self._loaded: dict[str, _Loaded] = {}
        self._targets: dict[str, _Target] = {}
        self._lock = threading.RLock()
        ctx.extra[CTX_KEY] = self

    # ---- loading ------------------------------------------------------------------------

    def _module(self, name: str) -> _Loaded | None:
        loaded = self._loaded.get(name)
        if loaded is not None:
            return loaded
        with self._lock:
            if name not in self._loaded:
                if name not in self._sources:
                    return None
                self._loaded[name] = self._load(name, self._sources[name])
            return self._loaded[name]

    def _load(self, name: str, source: Source) -> _Loaded:
        try:
            spec = source if isinstance(source, ModuleSpec) else _import_spec(source)
            _validate(name, spec)
        except ImportError as exc:  # rule 1: a missing driver or module is reported, never raised
            log.info("device module %s cannot be imported: %s", name, exc)
            return _Loaded(Availability.no(str(exc)), {})
        except _Malformed as exc:  # a module that is there but malformed is louder
            log.warning("device module %s cannot be loaded: %s", name, exc)
            return _Loaded(Availability.no(str(exc)), {})
        except Exception as exc:  # importing it raised: keep the traceback for its author
            log.warning("device module %s cannot be loaded: %s", name, exc, exc_info=True)
            return _Loaded(Availability.no(str(exc)), {})
        availability = Availability.yes()
        if spec.available is not None:
            try:
                availability = spec.available(self.ctx)
            except Exception as exc:
                log.warning("device module %s: available() raised %r", name, exc, exc_info=True)
                availability = Availability.no(f"available() raised {type(exc).__name__}: {exc}")
            if not isinstance(availability, Availability):
                availability = Availability.no(f"available() returned {availability!r}, not an Availability")
        if not availability.ok:
            log.info("device module %s is unavailable: %s", name, availability.reason)
            return _Loaded(availability, {})
        return _Loaded(availability, dict(spec.functions), frozenset(spec.idempotent))

    def _all(self) -> dict[str, _Loaded]:
        for name in list(self._sources):
            self._module(name)
        with self._lock:
            return dict(self._loaded)

    # ---- what is here -------------------------------------------------------------------

    def list_modules(self) -> list[str]:
        """Names of the available modules, sorted."""
        return sorted(name for name, m in self._all().items() if m.availability.ok)

    def list_functions(self, pattern: str | None = None) -> list[str]:
        """``mod.fun`` names of available functions, sorted, optionally filtered by :func:`matches`."""
        names = [f"{mod}.{fun}" for mod, m in self._all().items() for fun in m.functions]
        return sorted(n for n in names if pattern is None or matches(n, pattern))

    def unavailable(self) -> dict[str, str]:
        """Each unavailable module with the reason."""
        return {name: m.availability.reason for name, m in sorted(self._all().items()) if not m.availability.ok}

    def availability(self) -> dict[str, Availability]:
        """Every known module's :class:`Availability` (for grains)."""
        return {name: m.availability for name, m in sorted(self._all().items())}

    def doc(self, pattern: str | None = None) -> dict[str, str]:
        """Docstrings of the available functions matching ``pattern`` (all when ``None``)."""
        return {fun: inspect.getdoc(self.get(fun)) or "" for fun in self.list_functions(pattern)}

    # ---- calling ------------------------------------------------------------------------

    def is_idempotent(self, fun: str) -> bool:
        """Whether ``fun`` is declared safe to run again after a power cut interrupted it."""
        mod, dot, name = fun.partition(".")
        loaded = self._module(mod) if dot and name else None
        return loaded is not None and name in loaded.idempotent

    def get(self, fun: str) -> Callable[..., Any]:
        """The function ``fun`` (``mod.fun``) itself; it takes ``ctx`` first.

        Raises:
            FunctionUnavailable: no such function, or its module is unavailable
                (the module's reason is appended).
        """
        mod, dot, name = fun.partition(".")
        loaded = self._module(mod) if dot and name else None
        if loaded is None:
            raise FunctionUnavailable(fun)
        if not loaded.availability.ok:
            raise FunctionUnavailable(fun, loaded.availability.reason)
        if name not in loaded.functions:
            raise FunctionUnavailable(fun)
        return loaded.functions[name]

    def usage(self, fun: str) -> str:
        """``mod.fun(params...)``: the signature a caller must match, without ``ctx``."""
        return self._target(fun).usage

    def call(self, fun: str, args: list[Any] | tuple[Any, ...] = (), kwargs: Mapping[str, Any] | None = None) -> Any:
        """Call ``fun`` with ``ctx`` and the given arguments; the function's own return value.

        Arguments are bound to the signature and checked against simple
        annotations before anything runs (:func:`check_value`).

        Raises:
            FunctionUnavailable: as for :meth:`get`.
            InvalidArguments: the arguments do not bind or fit; the message
                names the function and gives its signature.
            Exception: whatever the function raises.
        """
        target = self._target(fun)
        try:
            bound = target.signature.bind(self.ctx, *args, **(kwargs or {}))
            for pname, value in list(bound.arguments.items())[1:]:
                bound.arguments[pname] = self._checked(target, pname, value)
        except (TypeError, InvalidArguments) as exc:
            raise InvalidArguments(f"{fun}: {exc}\nUsage: {target.usage}") from exc
        return target.fn(*bound.args, **bound.kwargs)

    def _checked(self, target: _Target, pname: str, value: Any) -> Any:
        annotation = target.annotations.get(pname, inspect.Parameter.empty)
        kind = target.signature.parameters[pname].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            return tuple(check_value(pname, annotation, v) for v in value)
        if kind is inspect.Parameter.VAR_KEYWORD:
            return {k: check_value(k, annotation, v) for k, v in value.items()}
        return check_value(pname, annotation, value)

    def _target(self, fun: str) -> _Target:
        fn = self.get(fun)
        with self._lock:
            target = self._targets.get(fun)
            if target is None or target.fn is not fn:
                signature = inspect.signature(fn)
                namespace = getattr(fn, "__globals__", None)
                annotations = {p.name: resolve_annotation(p.annotation, namespace)
                               for p in signature.parameters.values()}
                target = self._targets[fun] = _Target(fun, fn, signature, annotations)
            return target


class _Malformed(Exception):
    """A module imported but does not declare itself as the registry needs."""


def _plugins() -> dict[str, str]:
    try:
        if not _may_declare_plugins(sys.path, sys.meta_path):
            return {}
        import importlib.metadata  # ~1.5 MiB (email, zipfile, csv...): only when a plugin may be there

        return {ep.name: ep.value for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
    except Exception as exc:  # broken metadata must not stop the minion
        log.warning("cannot read entry points %s: %s", ENTRY_POINT_GROUP, exc)
        return {}


def _may_declare_plugins(path: list[str], finders: list[Any]) -> bool:
    """False only when no distribution ``importlib.metadata`` would find can declare our group.

    Reads each ``*.dist-info`` / ``*.egg-info`` directory's ``entry_points.txt`` on ``path``
    for the group's name. Anything it cannot read the way ``importlib.metadata`` would (a zip
    or ``.egg`` on the path, another finder offering ``find_distributions``, an unreadable
    file) answers True, so the full scan decides.
    """
    from importlib.machinery import PathFinder

    for finder in finders:
        if finder is not PathFinder and hasattr(finder, "find_distributions"):
            return True
    wanted = ENTRY_POINT_GROUP.encode()
    for entry in path:
        if not isinstance(entry, str):
            return True
        where = entry or "."
        if where.lower().endswith(".egg"):
            return True
        try:
            children = list(os.scandir(where))
        except FileNotFoundError:
            continue
        except NotADirectoryError:
            return True  # a zip on the path
        except OSError:
            return True
        for child in children:
            if not child.name.lower().endswith((".dist-info", ".egg-info")):
                continue
            try:
                with open(os.path.join(child.path, "entry_points.txt"), "rb") as fh:
                    if wanted in fh.read():
                        return True
            except (FileNotFoundError, NotADirectoryError):
                continue
            except OSError:
                return True
    return False


def _import_spec(path: str) -> ModuleSpec:
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ImportError(f"cannot import {module_name}: {type(exc).__name__}: {exc}") from exc
    except Exception as exc:
        raise RuntimeError(f"importing {module_name} failed: {type(exc).__name__}: {exc}") from exc
    attr = attr or "MODULE"
    spec = getattr(module, attr, None)
    if spec is None:
        raise _Malformed(f"{module_name} defines no {attr}")
    if not isinstance(spec, ModuleSpec):
        raise _Malformed(f"{module_name}.{attr} is a {type(spec).__name__}, not a ModuleSpec")
    return spec


def _validate(name: str, spec: ModuleSpec) -> None:
    if spec.name != name:
        raise _Malformed(f"registered as {name!r} but its ModuleSpec is named {spec.name!r}")
    for fun, fn in spec.functions.items():
        if not callable(fn):
            raise _Malformed(f"{name}.{fun} is not callable")
        params = list(inspect.signature(fn).parameters.values())
        if not params or params[0].kind not in (inspect.Parameter.POSITIONAL_ONLY,
                                                inspect.Parameter.POSITIONAL_OR_KEYWORD):
            raise _Malformed(f"{name}.{fun} does not take ctx as its first argument")
