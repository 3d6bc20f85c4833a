"""Handle tables: credential and context handles that cannot be guessed or reused (SPEC §2).

``dwLower`` looks like 64 random bits (never the invalid or deleted markers); ``dwUpper``
identifies the package, as Windows does. A value that was ever issued is never issued again, so a
freed or deleted handle can never become valid by accident (SPEC §2).

How, in constant memory: ``dwLower`` is the table's issue counter run through a 64-bit Feistel
permutation keyed with random bytes per table. A permutation never maps two counters to one value
(no reuse, no set of every value ever issued to keep), and without the key one handle says nothing
about the next (no plain counter).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from typing import Generic, TypeVar

from .._handles import INVALID_HANDLE_VALUE, SecHandle

__all__ = ("HandleTable",)

T = TypeVar("T")
_DELETED = 2**64 - 2  # SEC_DELETED_HANDLE
_RESERVED = frozenset((INVALID_HANDLE_VALUE, _DELETED, 0))
# Three Feistel rounds over a pseudo-random function give a pseudo-random permutation (Luby and
# Rackoff): enough that one handle says nothing about the next.
_ROUNDS = 3
_HALF = 0xFFFFFFFF


class _Permutation:
    """A keyed bijection of 64-bit integers (a balanced Feistel network over BLAKE2b)."""

    __slots__ = ("_rounds",)

    def __init__(self) -> None:
        # Keyed once; each use copies the keyed state (half the cost of keying again).
        self._rounds = tuple(
            hashlib.blake2b(key=secrets.token_bytes(16), digest_size=4) for _ in range(_ROUNDS)
        )

    def __call__(self, value: int) -> int:
        left, right = value >> 32, value & _HALF
        for keyed in self._rounds:
            mixer = keyed.copy()
            mixer.update(right.to_bytes(4, "little"))
            left, right = right, left ^ int.from_bytes(mixer.digest(), "little")
        return (left << 32) | right


class HandleTable(Generic[T]):
    """Maps ``(dwLower, dwUpper)`` to entries; thread-safe (the classic API may run in threads)."""

    __slots__ = ("_count", "_entries", "_lock", "_permute")

    def __init__(self) -> None:
        self._entries: dict[tuple[int, int], T] = {}
        self._count = 0
        self._permute = _Permutation()
        self._lock = threading.Lock()

    def add(self, entry: T, upper: int) -> tuple[int, int]:
        """Store ``entry`` under a key never issued before by this table and return it."""
        with self._lock:
            while True:
                self._count += 1
                lower = self._permute(self._count)
                if lower not in _RESERVED:
                    break
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
