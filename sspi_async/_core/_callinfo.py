"""What fault plans and traces know about one queued call (SPEC §9).

A :class:`CallInfo` is built once per queued call, and only while a fault plan or a trace is
active on the emulator (so the hot path pays nothing otherwise). It names the call the way plans
match it — canonical function name, package, side, async-context tag — and keeps references to
the caller's handles and output buffers so that a trace can read them *after* completion, when
the engine has written them (A6).

The function names are the five queued operations of SPEC §3 (canonical: the ``Sspi…Async``
spelling). Plans may use the ``A``/``W`` spellings, the classic synchronous names or the usual
abbreviations (``ISC``, ``ASC``, ``ACH``, ``DSC``, ``FCH``); :func:`canonical_function` maps each
to the canonical name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal

from .._flags import (
    SECBUFFER_ATTRMASK,
    SECBUFFER_TOKEN,
    SECPKG_CRED_INBOUND,
    SECPKG_CRED_OUTBOUND,
)

if TYPE_CHECKING:
    from .._buffers import SecBufferDesc
    from .._handles import SecHandle
    from ._fault_decider import Decision

__all__ = (
    "ASYNC_FUNCTIONS",
    "CallInfo",
    "Side",
    "canonical_function",
    "side_for_credential_use",
    "token_bytes",
    "token_length",
)

#: Which end of a security context a call belongs to.
Side = Literal["client", "server"]

ACH: Final = "SspiAcquireCredentialsHandleAsync"
ISC: Final = "SspiInitializeSecurityContextAsync"
ASC: Final = "SspiAcceptSecurityContextAsync"
DSC: Final = "SspiDeleteSecurityContextAsync"
FCH: Final = "SspiFreeCredentialsHandleAsync"

#: The queued operations of SPEC §3, by canonical name.
ASYNC_FUNCTIONS: Final = (ACH, ISC, ASC, DSC, FCH)

_CLASSIC: Final = {
    ACH: ("AcquireCredentialsHandle", "ACH"),
    ISC: ("InitializeSecurityContext", "ISC"),
    ASC: ("AcceptSecurityContext", "ASC"),
    DSC: ("DeleteSecurityContext", "DSC"),
    FCH: ("FreeCredentialsHandle", "FCH"),
}
#: Every accepted spelling, lower-cased, to the canonical name. ``A``/``W`` suffixes exist for
#: ACH and ISC only (they take strings), as in sspi.h.
_ALIASES: Final = {
    alias.lower(): canonical
    for canonical, (classic, short) in _CLASSIC.items()
    for alias in (
        canonical,
        classic,
        short,
        *(
            (f"{canonical}A", f"{canonical}W", f"{classic}A", f"{classic}W")
            if canonical in (ACH, ISC)
            else ()
        ),
    )
}


def canonical_function(name: str) -> str:
    """The canonical ``Sspi…Async`` name for ``name`` (any accepted spelling, case-insensitive).

    Raises:
        ValueError: ``name`` is not one of the queued operations; the message lists them.
    """
    canonical = _ALIASES.get(name.lower())
    if canonical is None:
        raise ValueError(
            f"unknown function {name!r}; use a queued operation by its Sspi…Async name (e.g. "
            "SspiAcceptSecurityContextAsync), its classic name (AcceptSecurityContext) or "
            "ACH, ISC, ASC, DSC, FCH"
        )
    return canonical


def side_for_credential_use(use: int) -> Side | None:
    """The side of a credential from its ``fCredentialUse``: OUTBOUND is a client, INBOUND a
    server; BOTH (or anything else) has no single side and gives ``None``."""
    if use == SECPKG_CRED_OUTBOUND:
        return "client"
    if use == SECPKG_CRED_INBOUND:
        return "server"
    return None


def token_bytes(desc: SecBufferDesc | None) -> bytes:
    """The bytes of the ``SECBUFFER_TOKEN`` buffers of ``desc``, concatenated (attribute bits such
    as SECBUFFER_READONLY ignored); ``b""`` for ``None``."""
    if desc is None:
        return b""
    return b"".join(
        buffer.data()
        for buffer in desc.pBuffers
        if buffer.BufferType & ~SECBUFFER_ATTRMASK == SECBUFFER_TOKEN
    )


def token_length(desc: SecBufferDesc | None) -> int | None:
    """The total ``cbBuffer`` of the ``SECBUFFER_TOKEN`` buffers of ``desc``; ``None`` without a
    descriptor (the call takes no token)."""
    if desc is None:
        return None
    return sum(
        buffer.cbBuffer
        for buffer in desc.pBuffers
        if buffer.BufferType & ~SECBUFFER_ATTRMASK == SECBUFFER_TOKEN
    )


class CallInfo:
    """One queued call as fault plans and traces see it.

    Attributes:
        function: the canonical ``Sspi…Async`` name.
        actx: the async context's id (``SspiAsyncContext.id``).
        tag: the async context's free-form tag, if any.
        side: ``"client"`` (ISC, an outbound credential), ``"server"`` (ASC, inbound) or ``None``.
        package: the registered package name (``SecPkgInfo.Name``), when known at queue time.
        credential: the caller's credential handle (ACH writes it at completion).
        context: the caller's context handle: ``phNewContext`` for ISC/ASC (written at
            completion), ``phContext`` for DSC.
        token_in: the input token's length (ISC/ASC), else ``None``.
        output: the caller's output descriptor (ISC/ASC), read by a trace at completion.
        decision: what the fault plan decided for this call (``None``: nothing).
        token_chunks: the output token's chunks after a ``split`` fault (``None``: not split).
    """

    __slots__ = (
        "actx",
        "context",
        "credential",
        "decision",
        "function",
        "output",
        "package",
        "side",
        "tag",
        "token_chunks",
        "token_in",
    )

    def __init__(
        self,
        function: str,
        actx: int,
        *,
        tag: str | None = None,
        side: Side | None = None,
        package: str | None = None,
        credential: SecHandle | None = None,
        context: SecHandle | None = None,
        token_in: int | None = None,
        output: SecBufferDesc | None = None,
    ) -> None:
        self.function = function
        self.actx = actx
        self.tag = tag
        self.side = side
        self.package = package
        self.credential = credential
        self.context = context
        self.token_in = token_in
        self.output = output
        self.decision: Decision | None = None
        self.token_chunks: tuple[bytes, ...] | None = None

    def __repr__(self) -> str:
        return (
            f"<CallInfo {self.function} actx={self.actx} side={self.side} "
            f"package={self.package} tag={self.tag}>"
        )
