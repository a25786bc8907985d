"""Strict reading of YAML and JSON documents: where every value stood, and typed reads that
collect every problem as ``file:line:col: key.path: message`` instead of stopping at the first."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from .errors import ScenarioError
from .text import describe, suggestion

if TYPE_CHECKING:
    from .fields import Model

__all__ = ["MAX_PROBLEMS", "MAX_VALUES", "Document", "Path", "Reader", "absent_empty", "format_path"]

Path = tuple[str | int, ...]
#: A document has at most this many values, an alias counted each time it is used.
MAX_VALUES = 250_000
#: At most this many problems are listed; then how many more there are.
MAX_PROBLEMS = 100


def absent_empty(value: Any) -> Any:
    """A section left empty (``clock:``) is an empty mapping; anything else is read as written."""
    return {} if value is None else value


def format_path(path: Path) -> str:
    """``("payments", 0, "paidAt")`` → ``payments[0].paidAt``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


class Document:
    """Parsed data with the source position (1-based line and column) of each value and key."""

    def __init__(self, data: Any, source: str | None = None) -> None:
        self.data = data
        self.source = source
        self.values: dict[Path, tuple[int, int]] = {}
        self.keys: dict[Path, tuple[int, int]] = {}
        #: Problems found while parsing, each with its (line, column) for sorting.
        self.problems: list[tuple[tuple[int, int], str]] = []

    @classmethod
    def from_yaml(cls, text: str, source: str) -> Document:
        """Parse YAML (or JSON) as ``yaml.safe_load`` does, keeping positions; syntax errors,
        duplicate keys, values nested deeper than ``MAX_DEPTH`` and documents of more than
        ``MAX_VALUES`` values (an alias counted each time it is used) are collected in ``problems``."""
        import yaml

        from .strict_yaml import Loader, size_problem

        document = cls(None, source)
        try:
            loader = Loader(text, MAX_VALUES)
            try:
                node = loader.get_single_node()
                problem = None if node is None else size_problem(node, MAX_VALUES)  # aliases expanded
                if problem is not None:
                    mark = problem[0].start_mark
                    position = (mark.line + 1, mark.column + 1)
                    document.problems.append((position, f"{source}:{position[0]}:{position[1]}: {problem[1]}"))
                    return document
                if node is not None:  # positions and duplicate keys as written, before merge keys are applied
                    document._index(node, ())
                document.data = loader.construct_document(node) if node is not None else None
            finally:
                loader.dispose()
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            position = (mark.line + 1, mark.column + 1) if mark else (0, 0)
            where = f"{source}:{position[0]}:{position[1]}: " if mark else f"{source}: "
            document.problems.append((position, f"{where}{error.problem or error.context or 'invalid YAML'}"))
            return document
        except yaml.reader.ReaderError as error:
            line = text.count("\n", 0, error.position) + 1
            column = error.position - text.rfind("\n", 0, error.position)
            document.problems.append(
                ((line, column), f"{source}:{line}:{column}: character #x{error.character:04x} is not allowed in YAML")
            )
            return document
        except yaml.YAMLError as error:
            document.problems.append(((0, 0), f"{source}: {error}"))
            return document
        return document

    @classmethod
    def from_bytes(cls, data: bytes, source: str) -> Document:
        """``from_yaml`` of UTF-8 bytes; bytes that are not UTF-8 are a problem at their position."""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            line = data.count(b"\n", 0, error.start) + 1
            column = len(data[data.rfind(b"\n", 0, error.start) + 1 : error.start].decode("utf-8", "replace")) + 1
            document = cls(None, source)
            document.problems.append(
                ((line, column), f"{source}:{line}:{column}: not valid UTF-8 (byte 0x{data[error.start]:02x})")
            )
            return document
        return cls.from_yaml(text, source)

    def _index(self, node: Any, path: Path) -> None:
        import yaml

        self.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key: str = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
                child = (*path, key)
                self.keys[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                if key in seen and key_node.tag != "tag:yaml.org,2002:merge":
                    self.problems.append(
                        (self.keys[child], f"{self.locate(child, key=True)}{format_path(child)}: duplicate key")
                    )
                seen.add(key)
                self._index(value_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._index(item, (*path, index))

    def position(self, path: Path, key: bool = False) -> tuple[int, int] | None:
        """The (line, column) of the value (or key) at ``path``, or of its nearest known parent."""
        marks = self.keys if key and path in self.keys else self.values
        while path and path not in marks:
            path = path[:-1]
            marks = self.values
        return marks.get(path)

    def locate(self, path: Path, key: bool = False) -> str:
        """``file:line:col: `` for the value (or key) at ``path``, as near as is known."""
        if self.source is None:
            return ""
        position = self.position(path, key)
        return f"{self.source}:{position[0]}:{position[1]}: " if position else f"{self.source}: "


class Reader:
    """Typed reads of a document's values; each bad value adds a problem and reads as None."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self._problems = list(document.problems)

    @property
    def problems(self) -> list[str]:
        """Every problem so far, in the order of the source."""
        return [text for _, text in sorted(self._problems, key=lambda problem: problem[0])]

    @property
    def problem_count(self) -> int:
        return len(self._problems)

    def problem(self, path: Path, message: str, key: bool = False) -> None:
        name = format_path(path)
        position = self.document.position(path, key) or (0, 0)
        self._problems.append((position, f"{self.document.locate(path, key)}{name + ': ' if name else ''}{message}"))

    def check(self, what: str = "scenario") -> None:
        """Raise ``ScenarioError`` listing the problems (the first ``MAX_PROBLEMS``), if there are any."""
        if self._problems:
            problems = self.problems
            if len(problems) > MAX_PROBLEMS:
                problems = [*problems[:MAX_PROBLEMS], f"… and {len(problems) - MAX_PROBLEMS} more problems"]
            raise ScenarioError(problems, what)

    def mapping(self, value: Any, path: Path, known: Collection[str]) -> dict[str, Any]:
        """The mapping at ``path``; unknown keys are problems."""
        if not isinstance(value, dict):
            self.problem(path, f"must be a mapping, got {describe(value, yaml=True)}")
            return {}
        for key in value:
            if key not in known:
                self.problem((*path, str(key)), "unknown key" + suggestion(str(key), known), key=True)
        return value

    def sequence(self, value: Any, path: Path) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(path, f"must be a list, got {describe(value, yaml=True)}")
            return []
        return value

    def fields(self, model: Model, value: Any, path: Path, also: Collection[str] = ()) -> dict[str, Any]:
        """The mapping at ``path`` read by ``model`` (``values``); its unknown keys, but ``also``
        (read elsewhere), are problems, unless the model is ``open``."""
        known = value.keys() if model.open and isinstance(value, dict) else (*model.names, *also)
        data = self.mapping(value, path, known)
        return self.values(model, data, path) if isinstance(value, dict) else {}

    def values(self, model: Model, data: Mapping[str, Any], path: Path) -> dict[str, Any]:
        """The fields of ``model`` in the mapping ``data`` at ``path``, each given one read by its
        kind and a missing required one a problem: the values read well, by name (absent, null
        and bad ones left out)."""
        read = {}
        for field in model.fields:
            given = data.get(field.name)
            if given is None:
                if field.required:
                    self.problem((*path, field.name), "is required")
            elif (taken := field.kind.take(self, given, (*path, field.name))) is not None:
                read[field.name] = taken
        return read
