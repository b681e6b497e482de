"""Compound expressions: Salt's grammar and precedence, read into a tree.

Salt evaluates a compound target by turning each word into ``True``/``False``
and handing the sentence to Python's ``eval``, so Python's rules decide:

* ``not`` binds tighter than ``and``, which binds tighter than ``or``;
* a ``not`` that follows a term or ``)`` gets an ``and`` put in front of it
  (``a not b`` is ``a and not b``), which also makes ``not not a`` invalid;
* words are split on whitespace only: ``(`` and ``)`` must stand alone, and a
  pattern cannot hold a space (use ``?`` in a glob: ``G@model:*Pi?4*``).

Whatever Python's ``eval`` would reject (or evaluate to nonsense, like ``()``)
is a ``TargetSyntaxError`` here, with the offending word's position.
"""

from __future__ import annotations

from edge_minion.targeting.errors import TargetSyntaxError
from edge_minion.targeting.subdict import Mode
from edge_minion.targeting.terms import CidrTerm, DataTerm, GlobTerm, ListTerm, PcreTerm
from edge_minion.targeting.tree import And, Node, Not, Or
from edge_minion.targeting.words import OPERATORS, Word, read_term

__all__ = ["MAX_DEPTH", "build_term", "parse_words"]

#: Parentheses nested deeper than this are refused (Python's own parser stops at 200).
MAX_DEPTH = 100


def parse_words(words: list[Word]) -> Node:
    """The tree for a compound expression already split into words (nodegroups expanded).

    Raises:
        TargetSyntaxError: for the first problem from the left.
    """
    if not words:
        raise TargetSyntaxError("empty target expression", 0)
    return _Parser(words).parse()


def build_term(word: Word) -> Node:
    """The term one non-operator word stands for.

    Raises:
        TargetSyntaxError: a bad prefix, regex, network or grain expression; a
            parenthesis glued to a bare word (Salt would glob for it literally).
    """
    try:
        return _build_term(word)
    except TargetSyntaxError as exc:
        if word.nodegroup is None:
            raise
        raise TargetSyntaxError(f"{exc.reason} (in nodegroup {word.nodegroup!r})", word.position,
                                exc.detail) from exc


_DATA_ENGINES: dict[str, tuple[Mode, str]] = {
    "G": ("glob", "grain"), "P": ("pcre", "grain"), "I": ("glob", "pillar"), "J": ("pcre", "pillar"),
}


def _build_term(word: Word) -> Node:
    term = read_term(word)
    # inside an expanded nodegroup every position is that of the N@ word
    position = word.position if word.nodegroup is not None else word.position + term.offset
    engine, text = term.engine, term.pattern
    if engine is None:
        if len(text) > 1 and (text[0] == "(" or text[-1] == ")"):
            edge = word.position if text[0] == "(" or word.nodegroup else word.position + len(text) - 1
            raise TargetSyntaxError("parenthesis must be a word of its own (put spaces around it)", edge)
        return GlobTerm(text)
    if engine in _DATA_ENGINES:
        mode, source = _DATA_ENGINES[engine]
        return DataTerm(word.text, text, term.delimiter or ":", mode, source, position)
    if engine == "L":
        return ListTerm(text)
    if engine == "S":
        return CidrTerm(word.text, text, position)
    if engine == "E":
        return PcreTerm(text, position)
    raise TargetSyntaxError(f"'{engine}@' left unexpanded", word.position)  # N@ is expanded before parsing


class _Parser:
    """Recursive descent over the words: or_expr := and_expr ('or' and_expr)*, and so on."""

    def __init__(self, words: list[Word]) -> None:
        self.words = words
        self.index = 0

    def parse(self) -> Node:
        node = self._or(0)
        if self.index < len(self.words):
            self._fail_trailing()
        return node

    def _peek(self) -> str | None:
        return self.words[self.index].text if self.index < len(self.words) else None

    def _or(self, depth: int) -> Node:
        children = [self._and(depth)]
        while self._peek() == "or":
            self.index += 1
            children.append(self._and(depth))
        return children[0] if len(children) == 1 else Or(tuple(children))

    def _and(self, depth: int) -> Node:
        children = [self._not(depth)]
        while True:
            word = self._peek()
            if word == "and":
                self.index += 1
            elif word != "not":  # Salt puts an 'and' before a 'not' that follows an operand
                break
            children.append(self._not(depth))
        return children[0] if len(children) == 1 else And(tuple(children))

    def _not(self, depth: int) -> Node:
        if self._peek() != "not":
            return self._atom(depth)
        self.index += 1
        if self._peek() == "not":
            raise _error("'not' right after 'not' (Salt reads it as 'not and not')", self.words[self.index])
        return Not(self._atom(depth))

    def _atom(self, depth: int) -> Node:
        before = self.words[self.index - 1] if self.index else None
        if self.index >= len(self.words):
            assert before is not None  # parse_words refuses an empty expression
            raise _error(f"'{before.text}' with nothing after it", before)
        word = self.words[self.index]
        if word.text in ("and", "or"):
            raise _error(f"'{word.text}' with nothing before it", word)
        if word.text == ")":
            if before is not None and before.text == "(":
                raise _error("empty parentheses", before)
            if before is not None and before.text in OPERATORS:
                raise _error(f"'{before.text}' with nothing after it", before)
            raise _error("unbalanced parenthesis", word)
        self.index += 1
        if word.text != "(":
            return build_term(word)
        if depth >= MAX_DEPTH:
            raise _error(f"parentheses nested deeper than {MAX_DEPTH}", word)
        node = self._or(depth + 1)
        if self.index >= len(self.words):
            raise _error("unbalanced parenthesis", word)
        if self.words[self.index].text != ")":
            self._fail_trailing()
        self.index += 1
        return node

    def _fail_trailing(self) -> None:
        word = self.words[self.index]
        if word.text == ")":
            raise _error("unbalanced parenthesis", word)
        before = self.words[self.index - 1]
        hint = None
        if word.text != "(" and before.text != ")":
            hint = "words are split on spaces; in a glob, '?' matches a space"
        raise _error(f"missing operator between {before.text!r} and {word.text!r}", word, hint)


def _error(reason: str, word: Word, detail: str | None = None) -> TargetSyntaxError:
    if word.nodegroup is not None:
        reason = f"{reason} (in nodegroup {word.nodegroup!r})"
    return TargetSyntaxError(reason, word.position, detail)
