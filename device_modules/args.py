"""Salt's argument conventions: how command-line words become ``args`` and ``kwargs``.

Two halves, one on each side of the wire:

* the CLI (``fleet``, ``fleet-call``) calls :func:`parse_cli_args`: each
  ``key=value`` word becomes a keyword argument, collected into one trailing
  ``{"__kwarg__": True, ...}`` dict as Salt publishes them; every other word
  stays the string that was typed;
* the minion calls :func:`split_args` with the target function: ``__kwarg__``
  dicts and ``key=value`` strings become keyword arguments when the function
  takes that keyword (or ``**kwargs``), and string values go through
  :func:`yamlify_arg`, so ``"1"`` arrives as ``1`` and ``"True"`` as ``True``.

Unlike Salt, a string bound to a parameter annotated ``str`` is never
YAML-loaded: ``test.echo 1`` answers ``"1"``, and ``cmd.run true`` runs the
command ``true``. A ``str | None`` parameter still turns the word ``None`` into
``None``, the one word Salt special-cases. (Salt YAML-loads on the CLI side; a
stock Salt master therefore sends typed values, which pass through unchanged.)
"""

from __future__ import annotations

import builtins
import inspect
import re
import types
import typing
from collections.abc import Callable, Iterable
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, ScalarNode

from device_modules.errors import InvalidArguments

__all__ = ["KWARG", "parse_cli_args", "parse_kwarg", "split_args", "yamlify_arg"]

#: ``name=value``: the name is an identifier that may also hold ``.`` and ``-``;
#: ``==`` is not a separator and a value never spans a newline (Salt's rule).
KWARG = re.compile(r"^(?P<name>[^\W\d][\w.-]*)=(?!=)(?P<value>.*)$")

_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _ArgLoader(_Base):  # type: ignore[valid-type,misc]
    """``yaml.safe_load`` the way Salt reads arguments.

    Timestamps stay strings, an octal-looking integer is read as decimal
    (``0755`` is 755), and a mapping with a repeated key is refused.
    """

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        self.flatten_mapping(node)
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                repeated = key in seen
                seen.add(key)
            except TypeError:
                break  # SafeConstructor reports the unhashable key itself
            if repeated:
                raise ConstructorError("while constructing a mapping", node.start_mark,
                                       f"found conflicting ID '{key}'", key_node.start_mark)
        return dict(SafeConstructor.construct_mapping(self, node, deep=deep))


def _construct_int(loader: SafeConstructor, node: ScalarNode) -> int:
    text = str(node.value)
    if text != "0" and text.startswith("0") and not text.startswith(("0b", "0x")):
        text = text.lstrip("0") or "0"
    return int(SafeConstructor.construct_yaml_int(loader, ScalarNode(node.tag, text, node.start_mark, node.end_mark)))


def _construct_timestamp(loader: SafeConstructor, node: ScalarNode) -> str:
    return str(loader.construct_scalar(node))


_ArgLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_ArgLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def _load(text: str) -> Any:
    return yaml.load(text, Loader=_ArgLoader)  # noqa: S506 - _ArgLoader is a SafeLoader


def yamlify_arg(arg: Any) -> Any:
    """Read one command-line argument as YAML, with Salt's exceptions.

    Non-strings come back unchanged. A string stays a string when it is blank
    or a document marker (``---``, ``...``), is only digits and underscores
    with at least one underscore (``1_000``), holds a tab, CR or newline, or
    does not load cleanly. ``"None"`` is ``None``. A mapping must be written in
    braces and a list in brackets, or the string is kept (``"a: b"`` stays
    ``"a: b"``). With a ``#`` in it, the string is kept unless it loads as
    something other than a string. ``|``, ``!`` and a leading ``#`` are kept
    rather than read as empty or null. A value YAML reads as anything other
    than a string, number, bool, null, list or mapping is kept as typed.
    """
    if not isinstance(arg, str):
        return arg
    stripped = arg.strip()
    if stripped in ("", "---", "..."):
        return arg
    if "_" in arg and all(c in "0123456789_" for c in stripped):
        return arg
    if any(c in arg for c in "\t\r\n"):
        return arg
    try:
        if "#" in arg:
            loaded = _load(arg)
            return arg if loaded is None or isinstance(loaded, str) else loaded
        loaded = None if arg == "None" else _load(arg)
    except Exception:  # any YAML failure means "keep what was typed"
        return arg
    if isinstance(loaded, dict):
        return loaded if arg.startswith("{") else arg
    if isinstance(loaded, list):
        return loaded if arg.startswith("[") else arg
    if loaded is None:
        return arg if stripped.startswith("#") or arg == "!" else None
    if isinstance(loaded, int | float | str):
        return arg if loaded == "" and arg in ("|", "!") else loaded
    return arg


def parse_kwarg(word: str) -> tuple[str, str] | None:
    """``(name, value)`` when ``word`` reads as ``name=value``, else ``None``."""
    match = KWARG.match(word)
    return (match["name"], match["value"]) if match else None


def parse_cli_args(argv: Iterable[str]) -> list[Any]:
    """Command-line words as the ``arg`` list of a publish.

    ``["echo hi", "cwd=/tmp", "timeout=5"]`` becomes
    ``["echo hi", {"__kwarg__": True, "cwd": "/tmp", "timeout": "5"}]``: values
    stay strings (the minion reads them against the function's signature), and
    all keyword arguments travel in one trailing dict, as Salt sends them.
    """
    positional: list[Any] = []
    keywords: dict[str, Any] = {}
    for word in argv:
        pair = parse_kwarg(word)
        if pair is None:
            positional.append(word)
        else:
            keywords[pair[0]] = pair[1]
    if keywords:
        positional.append({"__kwarg__": True, **keywords})
    return positional


# ---- the minion side --------------------------------------------------------------------

_EMPTY = inspect.Parameter.empty
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def resolve_annotation(annotation: Any, namespace: dict[str, Any] | None = None) -> Any:
    """The annotation as an object (string annotations evaluated), or ``_EMPTY`` if unknown."""
    if not isinstance(annotation, str):
        return annotation
    try:
        return eval(annotation, namespace if namespace is not None else dict(vars(builtins)))  # noqa: S307
    except Exception:  # a name only imported for type checking: leave it unchecked
        return _EMPTY


def simple_types(annotation: Any) -> frozenset[type] | None:
    """The plain types an annotation allows, or ``None`` when it is not a simple one.

    ``int``, ``float``, ``bool``, ``str``, ``list[...]``, ``dict[...]``, ``None`` and
    unions of them are simple; ``Any`` or any other class makes the whole
    annotation unchecked.
    """
    if annotation is None or annotation is type(None):
        return frozenset({type(None)})
    if annotation in (int, float, bool, str, list, dict):
        return frozenset({annotation})
    origin = typing.get_origin(annotation)
    if origin in (list, dict):
        return frozenset({origin})
    if origin is typing.Union or origin is types.UnionType:
        found: set[type] = set()
        for member in typing.get_args(annotation):
            member_types = simple_types(member)
            if member_types is None:
                return None
            found |= member_types
        return frozenset(found)
    return None


def _signature(target: inspect.Signature | Callable[..., Any]) -> tuple[list[inspect.Parameter], dict[str, Any]]:
    if isinstance(target, inspect.Signature):
        signature, namespace = target, None
    else:
        signature, namespace = inspect.signature(target), getattr(target, "__globals__", None)
    params = list(signature.parameters.values())
    if params and params[0].name == "ctx" and params[0].kind in _POSITIONAL:
        params = params[1:]
    return params, {p.name: resolve_annotation(p.annotation, namespace) for p in params}


def _read(value: Any, annotation: Any) -> Any:
    """A string argument read for a parameter annotated ``annotation``."""
    if not isinstance(value, str):
        return value
    allowed = simple_types(annotation) if annotation is not _EMPTY else None
    if allowed is not None and str in allowed:
        return None if value == "None" and type(None) in allowed else value
    return yamlify_arg(value)


def split_args(target: inspect.Signature | Callable[..., Any],
               arg_list: Iterable[Any]) -> tuple[list[Any], dict[str, Any]]:
    """Salt's ``arg`` list split into positional and keyword arguments for ``target``.

    ``target`` is the device function (or its signature); a first parameter
    named ``ctx`` is not counted. A ``{"__kwarg__": True, ...}`` dict and a
    ``name=value`` string are keyword arguments; any other dict is positional.
    String values are read with :func:`yamlify_arg` unless their parameter is
    annotated ``str``; other values pass through unchanged.

    Raises:
        InvalidArguments: a keyword argument that the function neither names
            nor accepts through ``**kwargs`` (Salt's message).
    """
    params, annotations = _signature(target)
    names = {p.name for p in params if p.kind in _NAMED}
    positional = [p for p in params if p.kind in _POSITIONAL]
    var_positional = next((p for p in params if p.kind is inspect.Parameter.VAR_POSITIONAL), None)
    var_keyword = next((p for p in params if p.kind is inspect.Parameter.VAR_KEYWORD), None)
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    invalid: list[str] = []

    def keyword(name: str, value: Any) -> None:
        if name in names:
            kwargs[name] = _read(value, annotations[name])
        elif var_keyword is not None:
            kwargs[name] = _read(value, annotations[var_keyword.name])
        else:
            invalid.append(f"{name}={value}")

    for item in arg_list:
        if isinstance(item, dict) and item.get("__kwarg__") is True:
            for name, value in item.items():
                if name != "__kwarg__":
                    keyword(str(name), value)
            continue
        pair = parse_kwarg(item) if isinstance(item, str) else None
        if pair is not None:
            keyword(*pair)
            continue
        index = len(args)
        if index < len(positional):
            annotation = annotations[positional[index].name]
        elif var_positional is not None:
            annotation = annotations[var_positional.name]
        else:
            annotation = _EMPTY  # too many: binding reports it
        args.append(_read(item, annotation))
    if invalid:
        raise InvalidArguments(f"The following keyword arguments are not valid: {', '.join(invalid)}")
    return args, kwargs
