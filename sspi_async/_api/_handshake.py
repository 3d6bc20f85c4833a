"""``handshake(client, server)``: a whole in-memory handshake between two Pythonic contexts.

The tokens travel as a byte stream would carry them (split tokens one chunk at a time, EXTRA
kept for the next step, T4/T6); post-handshake records reaching a complete client go through
DecryptMessage and the follow-up step (M2).
"""

from __future__ import annotations

from collections import deque

from .._errors import SspiError, error_for_status
from .._flags import Role
from .._status import SecurityStatus
from ._objects import SecurityContext, StepOutcome

__all__ = ("handshake",)

S = SecurityStatus


class _Wire:
    """One direction of the in-memory connection: chunks sent and not yet read, and bytes read
    but not consumed yet (an incomplete record, or what a step left as EXTRA)."""

    __slots__ = ("chunks", "data")

    def __init__(self, chunks: tuple[bytes, ...] = ()) -> None:
        self.chunks = deque(chunks)
        self.data = b""

    def read(self) -> bytes:
        """Everything received so far: the unconsumed bytes plus the next chunk, if any."""
        if self.chunks:
            self.data += self.chunks.popleft()
        return self.data


def _cut_short(ctx: SecurityContext, missing: int) -> SspiError:
    side, peer = ("client", "server") if ctx.role is Role.CLIENT else ("server", "client")
    return error_for_status(
        S.SEC_E_INCOMPLETE_MESSAGE,
        f"handshake: the {side} needs {missing or 'more'} more bytes but the {peer} sent no more "
        "(a token cut short?)",
    )


async def _receive(ctx: SecurityContext, wire: _Wire) -> StepOutcome | None:
    """Read the next chunk and step ``ctx`` on everything unconsumed; ``None`` while the step
    answers ``SEC_E_INCOMPLETE_MESSAGE`` and more chunks are on their way (T4)."""
    outcome = await ctx.step(wire.read())
    if outcome.incomplete:
        if not wire.chunks:
            raise _cut_short(ctx, outcome.missing)
        return None
    wire.data = outcome.extra  # T6: bytes after the step's records wait for the next step
    return outcome


async def _post_handshake(client: SecurityContext, wire: _Wire) -> None:
    """Bytes that reach a complete client (TLS 1.3 session tickets) are application records:
    DecryptMessage, then the follow-up step after ``SEC_I_RENEGOTIATE`` (M2)."""
    decrypted = client.decrypt(wire.read())
    if decrypted.status == S.SEC_E_INCOMPLETE_MESSAGE:
        if not wire.chunks:
            raise _cut_short(client, decrypted.missing)
        return
    wire.data = decrypted.extra
    if decrypted.status == S.SEC_I_RENEGOTIATE:
        await client.step(None)


async def handshake(
    client: SecurityContext, server: SecurityContext, *, max_steps: int = 64
) -> None:
    """Run a complete in-memory handshake between ``client`` and ``server``.

    The tokens travel as a byte stream would carry them: each step's
    :attr:`StepOutcome.chunks` are delivered one at a time, so after a fault plan's ``split``
    (SPEC §9) the peer answers ``SEC_E_INCOMPLETE_MESSAGE`` until the rest arrives, and bytes a
    step leaves unconsumed (EXTRA, T6) are kept for the next. Without a split every token is one
    chunk, as before.

    Args:
        max_steps: the most handshake steps (answers other than ``SEC_E_INCOMPLETE_MESSAGE``)
            both sides together may take.

    Raises:
        SspiError: either side failed (the error of the side that failed first);
            ``IncompleteMessageError`` when a side needs more bytes than its peer sent (a
            truncated token); a plain ``SspiError`` when the handshake stalls or takes more than
            ``max_steps`` steps.
    """
    if client.role is not Role.CLIENT or server.role is not Role.SERVER:
        raise ValueError(
            "handshake(client, server) needs a client context and a server context, in that order"
        )
    to_server = _Wire((await client.step(None)).chunks)
    to_client = _Wire()
    steps = 1
    while not (
        client.complete
        and server.complete
        and not to_server.chunks
        and not to_client.chunks
        and not to_client.data
    ):
        if steps > max_steps:
            raise SspiError(f"handshake did not finish within {max_steps} steps")
        progressed = False
        if to_server.chunks or (to_server.data and not server.complete):
            outcome = await _receive(server, to_server)
            if outcome is not None:
                to_client.chunks.extend(outcome.chunks)
                steps += 1
            progressed = True
        if to_client.chunks or to_client.data:
            if client.complete:
                await _post_handshake(client, to_client)
            else:
                outcome = await _receive(client, to_client)
                if outcome is not None:
                    to_server.chunks.extend(outcome.chunks)
                    steps += 1
            progressed = True
        if not progressed:
            waiting = [
                name for name, ctx in (("client", client), ("server", server)) if not ctx.complete
            ]
            raise SspiError(
                "handshake stalled: no bytes are on their way and the "
                f"{' and the '.join(waiting)} {'is' if len(waiting) == 1 else 'are'} not complete"
            )
