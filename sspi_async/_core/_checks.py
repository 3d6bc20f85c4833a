"""Python-type checks for the flat API: a wrong type raises ``TypeError`` naming the parameter
(SPEC §2). Wrong *values* are status codes and are not checked here."""

from __future__ import annotations

from typing import Any

__all__ = ("check_bytes", "check_int", "check_optional", "check_out_value")


def _names(types: type | tuple[type, ...]) -> str:
    if isinstance(types, tuple):
        return " or ".join(t.__name__ for t in types)
    return types.__name__


def check_optional(name: str, value: object, types: type | tuple[type, ...]) -> None:
    """``value`` must be None or an instance of ``types``."""
    if value is not None and not isinstance(value, types):
        raise TypeError(f"{name} must be {_names(types)} or None, not {type(value).__name__}")


def check_int(name: str, value: object) -> None:
    """``value`` must be an int (a flags word, a ULONG)."""
    if not isinstance(value, int):
        raise TypeError(f"{name} must be int, not {type(value).__name__}")


def check_out_value(name: str, value: Any) -> None:
    """``value`` must be None or an out-value holder (anything with a writable ``.value``)."""
    if value is not None and not hasattr(value, "value"):
        raise TypeError(
            f"{name} must be ULONG/TimeStamp (an object with a .value) or None, not {type(value).__name__}"
        )


def check_bytes(name: str, value: object, *, optional: bool = False) -> None:
    """``value`` must be bytes, bytearray or memoryview (or None when ``optional``); text gets a
    hint to encode it."""
    if (optional and value is None) or isinstance(value, (bytes, bytearray, memoryview)):
        return
    hint = f"; encode text first, e.g. {name}.encode()" if isinstance(value, str) else ""
    allowed = "bytes, bytearray or memoryview" + (" or None" if optional else "")
    raise TypeError(f"{name} must be {allowed}, not {type(value).__name__}{hint}")
