"""The YAML 1.1 reading of a plain scalar, for Salt's numeric-key fallback.

When ``grains['ports']`` has no key ``'8080'``, Salt retries with the key
YAML-loaded (``salt.utils.args.yamlify_arg``), so ``ports:8080:...`` reaches an
integer key 8080 and ``flags:true:...`` a boolean key. Only the scalar cases
that can name a dictionary key are covered: null, booleans, integers (decimal,
octal, hex, binary, sexagesimal), floats, and quoted strings without escapes.
Anything else is returned unchanged, which makes the caller give up, as Salt
does for keys that load to lists or mappings.
"""

from __future__ import annotations

import re

__all__ = ["yaml_scalar"]

_NULL = frozenset({"~", "null", "Null", "NULL"})
_TRUE = frozenset({"yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"})
_FALSE = frozenset({"no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"})
_PLAIN = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_. /-]*")
_INT = re.compile(r"""[-+]?(?:
    0b(?P<bin>[01_]+)
  | 0(?P<oct>[0-7_]+)
  | (?P<dec>0|[1-9][0-9_]*)
  | 0x(?P<hex>[0-9a-fA-F_]+)
  | (?P<sexa>[1-9][0-9_]*(?::[0-5]?[0-9])+)
  )""", re.VERBOSE)
_FLOAT = re.compile(r"""[-+]?(?:
    [0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?
  | [0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
  | \.(?:inf|Inf|INF)
  )|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|\.(?:nan|NaN|NAN)""", re.VERBOSE)


def yaml_scalar(text: str) -> object:
    """``text`` as YAML 1.1 would load it, or ``text`` itself when it is not a simple scalar."""
    stripped = text.strip()
    if not stripped or stripped in ("---", "...") or any(c in text for c in "\t\r\n"):
        return text
    if "#" in text:
        # Salt keeps the text unless the part before a comment loads to something other than a string.
        comment = text.find(" #")
        if comment <= 0 or stripped.startswith("#"):
            return text
        value = yaml_scalar(text[:comment])
        return text if value is None or isinstance(value, str) else value
    if "_" in stripped and all(c in "0123456789_" for c in stripped):
        return text  # Salt keeps digit-and-underscore strings as they are
    if text == "None" or stripped in _NULL:
        return None
    if stripped in _TRUE:
        return True
    if stripped in _FALSE:
        return False
    if len(stripped) >= 2 and stripped[0] == stripped[-1] == "'" and "'" not in stripped[1:-1].replace("''", ""):
        return stripped[1:-1].replace("''", "'")
    if len(stripped) >= 2 and stripped[0] == stripped[-1] == '"' and not any(c in stripped[1:-1] for c in '"\\'):
        return stripped[1:-1]
    try:
        match = _INT.fullmatch(stripped)
        if match:
            return _to_int(stripped, match)
        if _FLOAT.fullmatch(stripped):
            return _to_float(stripped)
    except ValueError:  # "0b_" and the like: YAML fails to load them, Salt keeps the text
        return text
    if stripped != text and _PLAIN.fullmatch(stripped):
        return stripped  # a plain scalar loses its surrounding blanks
    return text


def _to_int(text: str, match: re.Match[str]) -> int:
    sign = -1 if text.startswith("-") else 1
    if match.group("bin") is not None:
        return sign * int(match.group("bin").replace("_", ""), 2)
    if match.group("oct") is not None:
        if text[0] == "0":  # Salt's loader reads an unsigned leading-zero integer as decimal
            return int(text.lstrip("0").replace("_", "") or "0")
        return sign * int(match.group("oct").replace("_", ""), 8)
    if match.group("hex") is not None:
        return sign * int(match.group("hex").replace("_", ""), 16)
    if match.group("sexa") is not None:
        value = 0
        for part in match.group("sexa").replace("_", "").split(":"):
            value = value * 60 + int(part)
        return sign * value
    return sign * int(match.group("dec").replace("_", ""))


def _to_float(text: str) -> float:
    body = text.lower().replace("_", "")
    sign = -1.0 if body.startswith("-") else 1.0
    body = body.lstrip("+-")
    if body == ".inf":
        return sign * float("inf")
    if body == ".nan":
        return float("nan")
    if ":" in body:
        value = 0.0
        for part in body.split(":"):
            value = value * 60 + float(part)
        return sign * value
    return sign * float(body)
