"""Package-allocated buffers and FreeContextBuffer (M5).

With ``ISC_REQ_ALLOCATE_MEMORY`` (or a TOKEN buffer whose ``pvBuffer`` is None) the package, not
the caller, owns the output memory. The registry holds a strong reference to every such object
until ``FreeContextBuffer`` releases it, as the LSA heap would; freeing twice, or freeing an
object the package did not allocate, is undefined behaviour on Windows and raises
``SspiMisuseError`` here. It is process-wide (like the heap), so a buffer may be freed from any
emulator, task, callback or thread.
"""

from __future__ import annotations

import threading

from .._errors import SspiMisuseError

__all__ = ("allocate", "free", "outstanding")

_lock = threading.Lock()
_live: dict[int, object] = {}
_NOT_HELD = object()


def allocate(data: bytes) -> bytearray:
    """A new package-owned buffer holding ``data``."""
    obj = bytearray(data)
    with _lock:
        _live[id(obj)] = obj
    return obj


def register(obj: object) -> None:
    """Record ``obj`` as package-owned (for value objects handed out by QueryContextAttributes)."""
    with _lock:
        _live[id(obj)] = obj


def free(obj: object) -> None:
    """Release a package-owned object; raise :class:`SspiMisuseError` if it is not one."""
    with _lock:
        # Compare identities: None (NULL) or any foreign object is not a live allocation.
        if _live.get(id(obj), _NOT_HELD) is obj:
            del _live[id(obj)]
            return
    raise SspiMisuseError(
        f"FreeContextBuffer was given a {type(obj).__name__} the package did not allocate, or one "
        "already freed; free only buffers returned with ISC_REQ_ALLOCATE_MEMORY/"
        "ASC_REQ_ALLOCATE_MEMORY (or a NULL pvBuffer), and each only once"
    )


def outstanding() -> int:
    """How many package-owned objects have not been freed yet."""
    return len(_live)
