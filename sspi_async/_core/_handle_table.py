"""Handle tables: credential and context handles that cannot be guessed or reused (SPEC §2).

``dwLower`` is 64 random bits (never the invalid or deleted markers); ``dwUpper`` identifies the
package, as Windows does. A value that was ever issued is never issued again, so a freed or
deleted handle can never become valid by accident.
"""

from __future__ import annotations

import secrets
import threading
from typing import Generic, TypeVar

from .._handles import INVALID_HANDLE_VALUE, SecHandle

__all__ = ("HandleTable",)

T = TypeVar("T")
_DELETED = 2**64 - 2  # SEC_DELETED_HANDLE


class HandleTable(Generic[T]):
    """Maps ``(dwLower, dwUpper)`` to entries; thread-safe (the classic API may run in threads)."""

    __slots__ = ("_entries", "_issued", "_lock")

    def __init__(self) -> None:
        self._entries: dict[tuple[int, int], T] = {}
        self._issued: set[int] = set()
        self._lock = threading.Lock()

    def add(self, entry: T, upper: int) -> tuple[int, int]:
        """Store ``entry`` under a fresh key and return it."""
        with self._lock:
            while True:
                lower = secrets.randbits(64)
                if lower not in self._issued and lower not in (INVALID_HANDLE_VALUE, _DELETED, 0):
                    break
            self._issued.add(lower)
            key = (lower, upper)
            self._entries[key] = entry
            return key

    def get(self, handle: SecHandle | None) -> T | None:
        """The entry for ``handle``, or ``None`` when it is missing, freed or never issued."""
        if handle is None:
            return None
        return self._entries.get((handle.dwLower, handle.dwUpper))

    def pop(self, handle: SecHandle) -> T | None:
        """Remove and return the entry for ``handle`` (``None`` when absent)."""
        with self._lock:
            return self._entries.pop((handle.dwLower, handle.dwUpper), None)

    def __len__(self) -> int:
        return len(self._entries)

    def values(self) -> list[T]:
        """A snapshot of the live entries."""
        with self._lock:
            return list(self._entries.values())
