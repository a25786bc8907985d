"""Globs (``*``, ``?``, ``[...]``, as ``fnmatch`` reads them) matched in bounded time: a rule's
``paymentId`` and ``orderName``, the journal's ``path`` filter."""

from __future__ import annotations

import fnmatch
import re

__all__ = ["MAX_GLOB", "Glob"]

#: A glob is at most this long.
MAX_GLOB = 256


class _Piece:
    """A part of a glob without ``*``: each of its ``width`` tokens matches one character."""

    def __init__(self, tokens: list[str]) -> None:
        self.width = len(tokens)
        text = "".join(tokens)
        #: Matches exactly the piece (``fullmatch`` over ``width`` characters).
        self.exact = re.compile(fnmatch.translate(text))
        #: Finds where the piece first occurs (the rest of the text, whatever it is, follows it).
        self.anywhere = re.compile(fnmatch.translate(text + "*"))


class Glob:
    """A glob that matches a whole text as ``fnmatch.fnmatchcase`` does, at a bounded cost.

    A translated glob lets the regular expression engine backtrack: ``*`` then 254 ``?`` tried on
    a path of 8,000 characters takes 2 ms. Here the glob is cut at its stars into pieces of fixed
    width: the first and the last are compared in place, and each piece between two stars is looked
    for once, leftmost (which is never worse than any later place), after the one before it.
    Matching a text of ``n`` characters thus takes at most ``cost(n)`` steps."""

    def __init__(self, pattern: str) -> None:
        if len(pattern) > MAX_GLOB:
            raise ValueError(f"a pattern must be at most {MAX_GLOB} characters")
        self.pattern = pattern
        pieces = [_Piece(tokens) for tokens in _split(pattern)]
        self._first, self._last = pieces[0], pieces[-1]
        self._starred = len(pieces) > 1
        self._between = [piece for piece in pieces[1:-1] if piece.width]
        #: How many characters are looked for at each place of a text.
        self.searched = sum(piece.width for piece in self._between)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Glob) and other.pattern == self.pattern

    def __hash__(self) -> int:
        return hash(self.pattern)

    def cost(self, length: int) -> int:
        """At most how many steps matching a text of ``length`` characters takes."""
        return self._first.width + self._last.width + length * (self.searched + len(self._between))

    def matches(self, text: str) -> bool:
        """Whether the glob matches the whole of ``text``."""
        if not self._starred:
            return len(text) == self._first.width and self._first.exact.fullmatch(text) is not None
        start, end = self._first.width, len(text) - self._last.width
        if start > end or self._first.exact.fullmatch(text, 0, start) is None or self._last.exact.fullmatch(text, end) is None:
            return False
        for piece in self._between:
            found = piece.anywhere.search(text, start, end)
            if found is None:
                return False
            start = found.start() + piece.width
        return True


def _split(pattern: str) -> list[list[str]]:
    """The tokens of ``pattern`` (a character, ``?`` or a ``[...]`` set), in lists cut at each
    ``*``; a ``[`` without its ``]`` is a character, as ``fnmatch`` reads it."""
    pieces: list[list[str]] = [[]]
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        i += 1
        if char == "*":
            pieces.append([])
            continue
        if char == "[":
            j = i
            if j < n and pattern[j] == "!":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j < n:
                pieces[-1].append(pattern[i - 1 : j + 1])
                i = j + 1
                continue
        pieces[-1].append(char)
    return pieces
