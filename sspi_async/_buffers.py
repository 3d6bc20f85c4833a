"""Buffers (L1): SecBuffer and SecBufferDesc, with the sspi.h field names.

``SecBuffer`` is mutable: the emulator writes ``BufferType``, ``cbBuffer`` and ``pvBuffer`` at
completion, exactly where Windows writes through the caller's pointers. The bytes a buffer holds
are ``pvBuffer[:cbBuffer]``. For ``SECBUFFER_EXTRA`` and ``SECBUFFER_MISSING`` only ``BufferType``
and ``cbBuffer`` mean anything (SPEC §2).
"""

from __future__ import annotations

from ._flags import SECBUFFER_VERSION

__all__ = ("BufferData", "SecBuffer", "SecBufferDesc")

BufferData = bytes | bytearray | memoryview


class SecBuffer:
    """``struct _SecBuffer { cbBuffer; BufferType; pvBuffer; }``."""

    __slots__ = ("BufferType", "cbBuffer", "pvBuffer")

    def __init__(
        self, BufferType: int, cbBuffer: int = 0, pvBuffer: BufferData | None = None
    ) -> None:
        self.BufferType = BufferType
        self.cbBuffer = cbBuffer
        self.pvBuffer = pvBuffer

    @classmethod
    def of(cls, BufferType: int, data: BufferData) -> SecBuffer:
        """A buffer holding exactly ``data`` (``cbBuffer = len(data)``); ``data`` must be bytes,
        bytearray or memoryview (text is refused: a buffer holds bytes)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(
                f"SecBuffer.of: data must be bytes, bytearray or memoryview, not {type(data).__name__}"
            )
        return cls(BufferType, len(data), data)

    def data(self) -> bytes:
        """The bytes the buffer holds: ``pvBuffer[:cbBuffer]`` (``b""`` when there is none)."""
        if self.pvBuffer is None:
            return b""
        return bytes(memoryview(self.pvBuffer)[: self.cbBuffer])

    def __repr__(self) -> str:
        size = "None" if self.pvBuffer is None else str(len(self.pvBuffer))
        return (
            f"SecBuffer(BufferType={self.BufferType}, cbBuffer={self.cbBuffer}, pvBuffer=<{size}>)"
        )


class SecBufferDesc:
    """``struct _SecBufferDesc { ulVersion; cBuffers; pBuffers; }``; ``cBuffers`` is derived."""

    __slots__ = ("pBuffers", "ulVersion")

    def __init__(
        self, pBuffers: list[SecBuffer] | None = None, ulVersion: int = SECBUFFER_VERSION
    ) -> None:
        self.pBuffers: list[SecBuffer] = [] if pBuffers is None else pBuffers
        self.ulVersion = ulVersion

    @property
    def cBuffers(self) -> int:
        """Number of buffers (the length of ``pBuffers``)."""
        return len(self.pBuffers)

    def __repr__(self) -> str:
        return f"SecBufferDesc({self.pBuffers!r})"
