"""Out-value holders (L1): ``ULONG`` for ``pfContextAttr``/``pfQOP`` and ``TimeStamp`` for
``ptsExpiry`` (SPEC §2). Any object with a writable ``.value`` is accepted where these are."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

__all__ = ("FILETIME_EPOCH", "ULONG", "TimeStamp", "filetime_from_datetime")

#: FILETIME counts 100 ns ticks since 1601-01-01 UTC.
FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=timezone.utc)


class ULONG:
    """An ``unsigned long`` out-parameter."""

    __slots__ = ("value",)

    def __init__(self, value: int = 0) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"ULONG(0x{self.value:x})"


class TimeStamp:
    """A ``TimeStamp`` (FILETIME ticks: 100 ns since 1601-01-01 UTC)."""

    __slots__ = ("value",)

    def __init__(self, value: int = 0) -> None:
        self.value = value

    @property
    def datetime(self) -> datetime:
        """The time as an aware UTC ``datetime``."""
        return FILETIME_EPOCH + timedelta(microseconds=self.value // 10)

    def __repr__(self) -> str:
        return f"TimeStamp({self.value})"


def filetime_from_datetime(moment: datetime) -> int:
    """FILETIME ticks of an aware ``datetime``."""
    delta = moment - FILETIME_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10_000_000 + delta.microseconds * 10
