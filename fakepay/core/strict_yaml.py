"""The YAML loader scenarios are read with: ``yaml.SafeLoader``, bounded in depth, with every
scalar it cannot read (``!!int abc``, ``2025-13-45``) a marked error instead of a crash."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = ["MAX_DEPTH", "Loader", "size_problem"]

#: Mappings and lists nest at most this deep.
MAX_DEPTH = 64
_SCALARS = {"int": "an integer", "float": "a number", "bool": "true or false", "timestamp": "a date"}


class Loader(yaml.SafeLoader):
    """``SafeLoader`` that refuses, as it composes, nesting deeper than ``MAX_DEPTH`` and more
    than ``max_values`` values as written (before aliases are expanded)."""

    _depth = 0
    _values = 0

    def __init__(self, stream: str, max_values: int) -> None:
        super().__init__(stream)
        self.max_values = max_values

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self._depth += 1
        self._values += 1
        try:
            if self._depth > MAX_DEPTH or self._values > self.max_values:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                problem = (f"values are nested deeper than {MAX_DEPTH} levels" if self._depth > MAX_DEPTH
                           else f"the document has more than {self.max_values} values")
                raise ComposerError(None, None, problem, mark)
            node = super().compose_node(parent, index)
            if node is not None:  # where a value ends is never shown: a third of what composing takes, saved
                node.end_mark = node.start_mark
            return node
        finally:
            self._depth -= 1


def _marked(tag: str, what: str) -> Callable[[yaml.SafeLoader, Node], Any]:
    construct = yaml.SafeLoader.yaml_constructors[f"tag:yaml.org,2002:{tag}"]

    def constructor(loader: yaml.SafeLoader, node: Node) -> Any:
        try:
            return construct(loader, node)
        except (ValueError, KeyError, AttributeError, TypeError, OverflowError):
            value = node.value if isinstance(node, ScalarNode) else "?"
            raise ConstructorError(None, None, f"cannot read {value[:64]!r} as {what}", node.start_mark) from None

    return constructor


for _tag, _what in _SCALARS.items():
    Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _marked(_tag, _what))


def size_problem(root: Node, limit: int) -> tuple[Node, str] | None:
    """A node that makes the document under ``root`` unreadable, and why: an alias used inside
    its own anchor (a document without end), or more than ``limit`` values once every alias is
    expanded. Each node is sized once, so an alias bomb is found at once."""
    sizes: dict[int, int] = {}
    sizing: set[int] = set()

    def size(node: Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        if id(node) in sizing:
            raise _Recursive(node)
        sizing.add(id(node))
        total = 1
        if isinstance(node, SequenceNode):
            total += sum(size(item) for item in node.value)
        elif isinstance(node, MappingNode):
            total += sum(size(key) + size(value) for key, value in node.value)
        sizing.discard(id(node))
        sizes[id(node)] = total = min(total, limit + 1)
        return total

    try:
        if size(root) > limit:
            return root, f"the document has more than {limit} values (aliases counted each time they are used)"
    except _Recursive as recursive:
        return recursive.node, "an alias is used inside its own anchor: the value would never end"
    return None


class _Recursive(Exception):
    def __init__(self, node: Node) -> None:
        self.node = node
