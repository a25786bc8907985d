"""The YAML loader scenarios are read with: ``yaml.SafeLoader``, bounded in depth, with every
scalar it cannot read (``!!int abc``, ``2025-13-45``) a marked error instead of a crash."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = ["MAX_DEPTH", "Loader", "too_many_values"]

#: Mappings and lists nest at most this deep.
MAX_DEPTH = 64
_SCALARS = {"int": "an integer", "float": "a number", "bool": "true or false", "timestamp": "a date"}


class Loader(yaml.SafeLoader):
    """``SafeLoader`` that refuses nesting deeper than ``MAX_DEPTH`` as it composes."""

    _depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise ComposerError(None, None, f"values are nested deeper than {MAX_DEPTH} levels", mark)
            return super().compose_node(parent, index)
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


def too_many_values(root: Node, limit: int) -> bool:
    """Whether the document under ``root`` has more than ``limit`` values once every alias is
    expanded; each node is sized once, so an alias bomb is found at once."""
    sizes: dict[int, int] = {}

    def size(node: Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        total = 1
        if isinstance(node, SequenceNode):
            total += sum(size(item) for item in node.value)
        elif isinstance(node, MappingNode):
            total += sum(size(key) + size(value) for key, value in node.value)
        sizes[id(node)] = total = min(total, limit + 1)
        return total

    return size(root) > limit
