"""What a dialect stores, partitioned by owner: items by owner, then by key, each found, put and
listed in O(1) whatever is stored, and one owner's forgotten at once."""

from __future__ import annotations

from typing import Generic, TypeVar

__all__ = ["Store"]

T = TypeVar("T")


class Store(Generic[T]):
    """Items by owner, then by key, in the order they were first put."""

    def __init__(self) -> None:
        self._owners: dict[str, dict[str, T]] = {}

    def get(self, owner: str, key: str) -> T | None:
        items = self._owners.get(owner)
        return items.get(key) if items else None

    def put(self, owner: str, key: str, item: T) -> None:
        items = self._owners.get(owner)
        if items is None:
            items = self._owners[owner] = {}
        items[key] = item

    def of(self, owner: str) -> list[T]:
        """The owner's items, oldest first."""
        return list(self._owners.get(owner, {}).values())

    def owners(self) -> list[str]:
        return list(self._owners)

    def clear(self, owner: str | None = None) -> None:
        """Forget every item, or only ``owner``'s."""
        if owner is None:
            self._owners = {}
        else:
            self._owners.pop(owner, None)

    def __len__(self) -> int:
        return sum(map(len, self._owners.values()))
