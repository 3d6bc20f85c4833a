"""The handle table (SPEC §2): handle values are not guessable from other handles, a value once
issued is never issued again, and the table's memory does not grow with the handles it issued."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from sspi_async._core._handle_table import _RESERVED, HandleTable, _Permutation
from sspi_async._handles import SecHandle


@given(st.lists(st.integers(0, 2**64 - 1), min_size=2, max_size=50, unique=True))
def test_handles_permutation_is_a_bijection(values: list[int]) -> None:
    """Distinct counters give distinct 64-bit values: nothing is ever issued twice (SPEC §2)."""
    permute = _Permutation()
    out = [permute(v) for v in values]
    assert len(set(out)) == len(values)
    assert all(0 <= v < 2**64 for v in out)


def test_handles_are_not_a_plain_counter_and_differ_per_table() -> None:
    """Consecutive handles are not consecutive numbers, and two tables issue different values
    (each has its own random key), so one handle says nothing about another (SPEC §2)."""
    first, second = HandleTable[str](), HandleTable[str]()
    a = [first.add("x", 7)[0] for _ in range(64)]
    b = [second.add("x", 7)[0] for _ in range(64)]
    assert a != b
    steps = {(y - x) % 2**64 for x, y in itertools.pairwise(a)}
    assert len(steps) > 60  # a counter (or any fixed stride) would give one step
    assert not set(a) & _RESERVED


def test_handles_freed_are_never_valid_again_and_memory_stays_flat() -> None:
    """100,000 add/pop cycles: every key unique, a popped key stays invalid, and the table keeps
    no per-handle record once the entries are gone (the old design kept a set of every value)."""
    table = HandleTable[int]()
    seen: set[tuple[int, int]] = set()
    for i in range(100_000):
        key = table.add(i, 3)
        assert key not in seen
        seen.add(key)
        assert table.pop(SecHandle(*key)) == i
        assert table.get(SecHandle(*key)) is None
    assert len(table) == 0
    assert set(table.__slots__) == {"_count", "_entries", "_lock", "_permute"}
