"""Expanding ``N@name`` from the configured nodegroups, the way Salt does.

A nodegroup is a compound string (split on whitespace) or a list of words.
Salt's expansion has three rules that change meaning, kept here on purpose:

1. A definition with no operator, no ``*`` and no ``X@`` word is a list of ids:
   its words are joined into one ``L@a,b,c`` term, or into ``E@a,b,c`` if any
   word holds one of ``( [ { \\ ? } ] )``, which Salt takes for a regex.
2. The nodegroup named by a top-level ``N@`` is spliced in *without*
   parentheses unless it itself contains ``N@``: with ``g: 'a or b'``,
   ``x and N@g`` reads ``x and a or b``.
3. Nested nodegroups (and a top-level one that nests others) are wrapped in
   parentheses.

Unlike Salt, which logs and drops the offending word, an unknown nodegroup or a
cycle is an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from edge_minion.targeting.errors import NodegroupCycleError, TargetSyntaxError, UnknownNodegroupError
from edge_minion.targeting.words import OPERATORS, Word

__all__ = ["Nodegroups", "expand", "expand_words"]

Nodegroups = Mapping[str, str | Sequence[str]]

_REGEX_CHARS = frozenset("([{\\?}])")


def expand_words(words: list[Word], nodegroups: Nodegroups | None, *, show_position: bool = True) -> list[Word]:
    """Replace every ``N@name`` word in ``words`` by its expansion (rule 2 applies to each)."""
    out: list[Word] = []
    for word in words:
        if word.text.startswith("N@") and len(word.text) > 2:
            out.extend(expand(word.text[2:], nodegroups, word.position, show_position=show_position))
        else:
            out.append(word)
    return out


def expand(name: str, nodegroups: Nodegroups | None, position: int, *, show_position: bool = True) -> list[Word]:
    """Words that ``N@name`` stands for; each carries ``position`` (where the ``N@`` word starts).

    Raises:
        UnknownNodegroupError: ``name`` (or a nodegroup it includes) is not configured.
        NodegroupCycleError: the nodegroups include each other.
        TargetSyntaxError: a definition that is neither a string nor a list, or is empty.
    """
    return _expand(name, nodegroups or {}, position, (), show_position)


def _expand(name: str, nodegroups: Nodegroups, position: int, chain: tuple[str, ...],
            show_position: bool) -> list[Word]:
    if name in chain:
        raise NodegroupCycleError((*chain, name), position, show_position=show_position)
    if name not in nodegroups:
        raise UnknownNodegroupError(name, position, show_position=show_position)
    definition = nodegroups[name]
    if isinstance(definition, str):
        texts = definition.split()
    elif isinstance(definition, (list, tuple)):
        texts = [str(text) for text in definition]
    else:
        raise TargetSyntaxError(f"nodegroup {name!r} is neither a string nor a list", position,
                                show_position=show_position)
    if not texts:
        raise TargetSyntaxError(f"nodegroup {name!r} is empty", position, show_position=show_position)

    nested = False
    expanded: list[Word] = []
    for text in texts:
        if text not in OPERATORS and len(text) >= 3 and text.startswith("N@"):
            nested = True
            expanded.extend(_expand(text[2:], nodegroups, position, (*chain, name), show_position))
        else:
            expanded.append(Word(text, position, name))

    top = not chain
    if not nested:
        joined = _as_single_term(texts)
        if joined is not None:
            return [Word(joined, position, name)]
        if top:
            return expanded
    return [Word("(", position, name), *expanded, Word(")", position, name)]


def _as_single_term(texts: list[str]) -> str | None:
    """Rule 1: the ``L@``/``E@`` term a plain list of ids turns into, or None."""
    if any(text in OPERATORS for text in texts):
        return None
    if any("*" in text or (len(text) >= 2 and text[0].isupper() and text[0].isascii() and text[1] == "@")
           for text in texts):
        return None
    engine = "E@" if any(_REGEX_CHARS.intersection(text) for text in texts) else "L@"
    return engine + ",".join(texts)
