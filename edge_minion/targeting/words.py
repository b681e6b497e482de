"""Words of a compound expression, and the ``X@`` prefix each one may carry.

Salt reads a compound target as whitespace-separated words (a list target is
taken element by element, never split). Each word is an operator (``and``,
``or``, ``not``, ``(``, ``)``) or a term: ``<engine>[<delimiter>]@<pattern>``,
where the one-character delimiter is allowed after G, P, I and J only
(``G|@os|Debian``), or a bare glob on the minion id.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

from edge_minion.targeting.errors import TargetSyntaxError

__all__ = ["ENGINES", "OPERATORS", "Term", "Word", "read_term", "split_words"]

OPERATORS = frozenset({"and", "or", "not", "(", ")"})

#: Prefix letter -> target type it stands for in a compound expression.
ENGINES = {"G": "grain", "P": "grain_pcre", "I": "pillar", "J": "pillar_pcre", "L": "list",
           "S": "ipcidr", "E": "pcre", "N": "nodegroup"}
#: Prefixes Salt knows that a plain minion cannot honour.
_UNSUPPORTED = {"R": "range", "T": "resource", "M": "managing-minion"}

# Same grammar as Salt's target words: optional engine letter, optional
# delimiter character (G/P/I/J only), '@', then a non-empty pattern.
_TERM = re.compile(r"(?:([GPIJLNSERTM])((?<=[GPIJ]).)?@)?(.+)$")
_LOOKS_PREFIXED = re.compile(r"[A-Z]@")
_WORD = re.compile(r"\S+")  # \S in a str pattern is exactly the complement of str.isspace, as str.split uses


class Word(NamedTuple):
    """One word and where it starts; ``nodegroup`` names the nodegroup it was expanded from, if any."""

    text: str
    position: int
    nodegroup: str | None = None


class Term(NamedTuple):
    """A term word taken apart: ``engine`` is None for a bare glob; ``offset`` is where ``pattern`` starts."""

    engine: str | None
    delimiter: str | None
    pattern: str
    offset: int


def split_words(tgt: str | Sequence[str]) -> list[Word]:
    """Words of ``tgt`` with their offsets (a sequence counts as its elements joined by single spaces)."""
    if isinstance(tgt, str):
        return [Word(m.group(), m.start()) for m in _WORD.finditer(tgt)]
    words = []
    position = 0
    for element in tgt:
        text = str(element)
        words.append(Word(text, position))
        position += len(text) + 1
    return words


def read_term(word: Word) -> Term:
    """Split a non-operator word into engine, delimiter and pattern.

    Raises:
        TargetSyntaxError: ``X@`` with a letter that is no engine, an engine a plain
            minion cannot serve (``R@``, ``T@``, ``M@``), or an engine with nothing after it.
    """
    match = _TERM.match(word.text)
    if match is None or match.group(1) is None:
        looks = _LOOKS_PREFIXED.match(word.text)
        if looks:
            letter = word.text[0]
            if letter in ENGINES or letter in _UNSUPPORTED:
                raise TargetSyntaxError(f"nothing after '{letter}@'", word.position)
            raise TargetSyntaxError(f"unknown prefix '{letter}@'", word.position)
        return Term(None, None, word.text, 0)
    engine, delimiter, pattern = match.group(1), match.group(2), match.group(3)
    if engine in _UNSUPPORTED:
        raise TargetSyntaxError(f"unsupported prefix '{engine}@' ({_UNSUPPORTED[engine]} targeting)",
                                word.position)
    return Term(engine, delimiter, pattern, match.start(3))
