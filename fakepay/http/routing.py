"""Routes as data: a path template is the one source of where its values stand, and a request's
raw path (as sent, still percent-encoded) is matched against it segment by segment. No HTTP
here beyond method names."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Generic, TypeVar
from urllib.parse import unquote

from ..core.errors import MethodNotAllowed

__all__ = ["Route", "Router"]

T = TypeVar("T")


class Route(Generic[T]):
    """A path template (``/payments/{paymentId}/instant``) and what each method does there
    (``T``: a handler, an operation); ``HEAD`` goes where ``GET`` goes."""

    __slots__ = ("_later_literals", "_values", "allowed", "methods", "template")

    def __init__(self, template: str, methods: Mapping[str, T]) -> None:
        self.template = template
        self.methods = dict(methods)
        if "GET" in self.methods:
            self.methods.setdefault("HEAD", self.methods["GET"])
        #: The methods for the ``Allow`` header of a 405.
        self.allowed = tuple(sorted(self.methods))
        parts = template.split("/")
        assert parts[0] == "" and not parts[1].startswith("{"), "a template starts with a literal segment"
        # The first two segments ("" and the literal) are what the router found the route by.
        self._later_literals = tuple((i, part) for i, part in enumerate(parts) if i > 1 and not part.startswith("{"))
        self._values = tuple(i for i, part in enumerate(parts) if part.startswith("{"))

    def match(self, segments: list[str]) -> tuple[str, ...] | None:
        """The raw values of a path split at ``/`` that the router found this route by (as many
        segments, the same first two), or None if it does not fit: a literal segment may be
        percent-encoded, a value may not be empty."""
        for i, literal in self._later_literals:
            segment = segments[i]
            if segment != literal and ("%" not in segment or unquote(segment) != literal):
                return None
        values = tuple(map(segments.__getitem__, self._values))
        return None if "" in values else values

    def target(self, method: str, path: str) -> T:
        """What ``method`` does here, or ``MethodNotAllowed``."""
        found = self.methods.get(method)
        if found is None:
            raise self.not_allowed(method, path)
        return found

    def not_allowed(self, method: str, path: str) -> MethodNotAllowed:
        return MethodNotAllowed(method, path, self.allowed)


class Router(Generic[T]):
    """Routes, found by a raw path in one dictionary look-up (by segment count and first
    segment) and a segment-wise comparison; registration order decides between equals."""

    def __init__(self, routes: Iterable[Route[T]]) -> None:
        self._index: dict[tuple[int, str], list[Route[T]]] = {}
        for route in routes:
            parts = route.template.split("/")
            self._index.setdefault((len(parts), parts[1]), []).append(route)

    def find(self, path: str) -> tuple[Route[T], tuple[str, ...]] | None:
        """The route ``path`` (raw, as sent) fits, with its raw values, or None."""
        segments = path.split("/")
        count = len(segments)
        if count < 2 or segments[0]:  # not a path: "*"
            return None
        first = segments[1]
        candidates = self._index.get((count, first))
        if candidates is None and "%" in first:
            candidates = self._index.get((count, unquote(first)))
        for route in candidates or ():
            values = route.match(segments)
            if values is not None:
                return route, values
        return None
