"""Hypothesis fuzzing of records after the handshake (M2, T4, T6, T11, E4), on Schannel TLS 1.3,
Schannel TLS 1.2 and SimTLS.

Each example completes a fresh connection through the Pythonic API, has one side ``encrypt`` a
few records, and feeds the other side's ``decrypt`` — or the flat ``DecryptMessage`` on the same
handle — flipped, truncated, merged or reordered bytes. Every call must answer with a status (a
``Decrypted`` or an ``SspiError`` carrying ``.status``), never another exception, and within
:data:`~tests.facade.fuzz_helpers.TIMEOUT`.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sspi_async import Decrypted, Role, SecurityContext, SspiError
from sspi_async.sspi import (
    ISC_REQ_CONFIDENTIALITY,
    ISC_REQ_STREAM,
    SCHANNEL_SHUTDOWN,
    SEC_E_INCOMPLETE_MESSAGE,
    SEC_E_OK,
    SEC_I_CONTEXT_EXPIRED,
    SEC_I_RENEGOTIATE,
    SEC_SUCCESS,
    SECBUFFER_EXTRA,
    SECBUFFER_MISSING,
    SECBUFFER_TOKEN,
    SECURITY_NATIVE_DREP,
    AcceptSecurityContext,
    ApplyControlToken,
    DecryptMessage,
    InitializeSecurityContext,
    SecBuffer,
    SecBufferDesc,
)
from tests.facade.fuzz_helpers import (
    FUZZ,
    KINDS,
    Pair,
    established,
    is_encrypted_alert,
    run,
    target_for,
)
from tests.facade.fuzz_helpers import split_records as wire_records
from tests.facade.helpers import ASC_FLAGS, decrypt_desc, plaintext_of, token_out
from tests.facade.schannel_helpers import expected_missing

#: What a Decrypted may carry (M2); failures are raised as SspiError.
DECRYPTED = (SEC_E_OK, SEC_E_INCOMPLETE_MESSAGE, SEC_I_RENEGOTIATE, SEC_I_CONTEXT_EXPIRED)
#: Bytes of a record header the emulator checks itself (content type, major version, length).
HEADER_CHECKED = (0, 1, 3, 4)

plaintexts = st.lists(st.binary(min_size=1, max_size=48), min_size=1, max_size=3)


def flat_decrypt(ctx: SecurityContext, data: bytes) -> Decrypted:
    """``DecryptMessage`` on ``ctx``'s handle, read back as the Pythonic layer does (M2); a
    failure status is raised as the SspiError the Pythonic ``decrypt`` would raise."""
    desc = decrypt_desc(data)
    status = DecryptMessage(ctx.handle, desc, 0, None)
    assert isinstance(status, int)
    if status == SEC_E_INCOMPLETE_MESSAGE:
        assert desc.pBuffers[0].BufferType == SECBUFFER_MISSING
        return Decrypted(status, missing=desc.pBuffers[0].cbBuffer)
    if not SEC_SUCCESS(status):
        raise SspiError("DecryptMessage failed", status)
    extra = next((b.data() for b in desc.pBuffers if b.BufferType == SECBUFFER_EXTRA), b"")
    return Decrypted(status, plaintext_of(desc), extra)


def decrypt_once(ctx: SecurityContext, data: bytes, *, flat: bool) -> Decrypted | SspiError:
    """One decrypt through the chosen API: the ``Decrypted``, or the ``SspiError`` it raised
    (any other exception propagates and fails the test); checks the M2 shape of either."""
    try:
        result = flat_decrypt(ctx, data) if flat else ctx.decrypt(data)
    except SspiError as exc:
        refused = exc
    else:
        assert result.status in DECRYPTED, hex(result.status)
        if result.status == SEC_E_INCOMPLETE_MESSAGE:  # T4: MISSING counts from a record start
            assert result.missing == expected_missing(data), (len(data), result.missing)
        else:
            assert len(result.extra) < len(data)  # one record consumed
            assert data.endswith(result.extra)
        return result
    assert isinstance(refused.status, int)
    assert not SEC_SUCCESS(refused.status), hex(refused.status)
    return refused


def drain(
    ctx: SecurityContext, data: bytes, *, flat: bool = False
) -> tuple[list[bytes], SspiError | Decrypted | None, bytes]:
    """Decrypt records off the front of ``data`` until it is used up, incomplete or refused.

    Returns the plaintexts, how it stopped (``None``: used up; the INCOMPLETE ``Decrypted``; the
    ``SspiError``) and the bytes not consumed.
    """
    out: list[bytes] = []
    while data:
        result = decrypt_once(ctx, data, flat=flat)
        if isinstance(result, SspiError) or result.status == SEC_E_INCOMPLETE_MESSAGE:
            return out, result, data
        assert result.status == SEC_E_OK, hex(result.status)  # no forged close or ticket
        out.append(result.data)
        data = result.extra
    return out, None, b""


def record_at(records: list[bytes], offset: int) -> int:
    """Index of the record that holds byte ``offset`` of their concatenation."""
    for index, record in enumerate(records):
        if offset < len(record):
            return index
        offset -= len(record)
    raise AssertionError("offset beyond the records")


def flip(data: bytes, offset: int, xor: int) -> bytes:
    """``data`` with byte ``offset`` XORed with ``xor`` (non-zero)."""
    changed = bytearray(data)
    changed[offset] ^= xor
    return bytes(changed)


def assert_refuses(ctx: SecurityContext, record: bytes) -> None:
    """T11: a failed context refuses even a good record, with a status."""
    with pytest.raises(SspiError) as caught:
        ctx.decrypt(record)
    assert not SEC_SUCCESS(caught.value.status), hex(caught.value.status)


# --------------------------------------------------------------------------- mutated records


@pytest.mark.parametrize("kind", KINDS)
@FUZZ
@given(
    texts=plaintexts,
    from_client=st.booleans(),
    where=st.integers(0, 1 << 16),
    xor=st.integers(1, 255),
    flat=st.booleans(),
)
def test_E4_fuzz_flipped_byte_is_refused_with_a_status(
    kind: str, texts: list[bytes], from_client: bool, where: int, xor: int, flat: bool
) -> None:
    """E4/T11/M2: one flipped byte anywhere (header included) → the records before it decrypt
    intact, the changed one is never accepted: a failure status, or INCOMPLETE with a correct
    MISSING when its length field grew past the end; nothing but statuses, no hang."""

    async def main() -> None:
        async with established(kind) as pair:
            sender, receiver = pair.sides(from_client)
            records = [sender.encrypt(text) for text in texts]
            wire = b"".join(records)
            offset = where % len(wire)
            index = record_at(records, offset)
            got, stop, _ = drain(receiver, flip(wire, offset, xor), flat=flat)
            assert got == texts[:index]
            assert stop is not None, "a changed record was accepted"
            if isinstance(stop, Decrypted):  # the length field now points past the end
                start = sum(map(len, records[:index]))
                assert offset - start in (3, 4), offset - start

    run(main())


def _refused_then_good(receiver: SecurityContext, bad: bytes, good: list[bytes]) -> None:
    """Feed ``bad`` (which must be refused), then each of ``good``: all refused (T11)."""
    _, stop, _ = drain(receiver, bad)
    assert isinstance(stop, SspiError), stop
    for record in good:
        assert_refuses(receiver, record)


@pytest.mark.parametrize("kind", KINDS)
@FUZZ
@given(
    texts=plaintexts,
    from_client=st.booleans(),
    where=st.integers(0, 1 << 16),
    xor=st.integers(1, 255),
)
def test_T11_fuzz_context_stays_failed_after_a_bad_record_body(
    kind: str, texts: list[bytes], from_client: bool, where: int, xor: int
) -> None:
    """T11/E4: after a record whose body (MAC/tag, ciphertext) was changed is refused, the
    original record and every later one are refused too: the failure is sticky."""

    async def main() -> None:
        async with established(kind) as pair:
            sender, receiver = pair.sides(from_client)
            record = sender.encrypt(texts[0])
            later = [sender.encrypt(text) for text in texts[1:]] + [sender.encrypt(b"after")]
            offset = 5 + where % (len(record) - 5)
            _refused_then_good(receiver, flip(record, offset, xor), [record, *later])

    run(main())


@pytest.mark.parametrize("kind", KINDS)
@FUZZ
@given(
    text=st.binary(min_size=1, max_size=48),
    from_client=st.booleans(),
    field=st.sampled_from(HEADER_CHECKED),
    xor=st.integers(1, 255),
)
def test_E4_fuzz_context_stays_failed_after_a_bad_record_header(
    kind: str, text: bytes, from_client: bool, field: int, xor: int
) -> None:
    """E4/T11: a record the emulator's own header check refuses (content type, version, length
    beyond any TLS record) ends the connection as the TLS stack would: later records are refused.
    A length that merely grew is INCOMPLETE, not a failure, and is skipped here."""

    async def main() -> None:
        async with established(kind) as pair:
            sender, receiver = pair.sides(from_client)
            record = sender.encrypt(text)
            first = decrypt_once(receiver, flip(record, field, xor), flat=False)
            if isinstance(first, Decrypted):  # only a grown length may wait for more bytes
                assert first.status == SEC_E_INCOMPLETE_MESSAGE, hex(first.status)
                assert field in (3, 4)
                return
            assert_refuses(receiver, record)
            assert_refuses(receiver, sender.encrypt(b"after"))

    run(main())


# --------------------------------------------------------------------------- reordered records


@pytest.mark.parametrize("kind", KINDS)
@FUZZ
@given(
    texts=st.lists(st.binary(min_size=1, max_size=32), min_size=2, max_size=4),
    from_client=st.booleans(),
    data=st.data(),
    flat=st.booleans(),
)
def test_T11_fuzz_reordered_records_are_refused(
    kind: str, texts: list[bytes], from_client: bool, data: st.DataObject, flat: bool
) -> None:
    """T11/M2: records delivered out of order → those before the first swap decrypt intact, the
    first out-of-place record is refused with a status, and then the context stays failed."""
    order = data.draw(
        st.permutations(range(len(texts))).filter(lambda p: list(p) != sorted(p)), label="order"
    )

    async def main() -> None:
        async with established(kind) as pair:
            sender, receiver = pair.sides(from_client)
            records = [sender.encrypt(text) for text in texts]
            first = next(i for i, j in enumerate(order) if i != j)
            got, stop, _ = drain(receiver, b"".join(records[j] for j in order), flat=flat)
            assert got == texts[:first]
            assert isinstance(stop, SspiError), stop
            assert_refuses(receiver, records[first])

    run(main())


# --------------------------------------------------------------------------- merged, truncated


@pytest.mark.parametrize("kind", KINDS)
@FUZZ
@given(
    texts=st.lists(st.binary(min_size=1, max_size=64), min_size=1, max_size=5),
    from_client=st.booleans(),
    flat=st.booleans(),
)
def test_T6_fuzz_merged_records_decrypt_in_order(
    kind: str, texts: list[bytes], from_client: bool, flat: bool
) -> None:
    """T6/M2: several valid records in one buffer → one record per call, EXTRA carrying the rest,
    exactly the original plaintexts in order."""

    async def main() -> None:
        async with established(kind) as pair:
            sender, receiver = pair.sides(from_client)
            wire = b"".join(sender.encrypt(text) for text in texts)
            got, stop, rest = drain(receiver, wire, flat=flat)
            assert stop is None, stop
            assert rest == b""
            assert got == texts

    run(main())


@pytest.mark.parametrize("kind", KINDS)
@FUZZ
@given(
    texts=st.lists(st.binary(min_size=1, max_size=64), min_size=1, max_size=4),
    from_client=st.booleans(),
    where=st.integers(0, 1 << 16),
    flat=st.booleans(),
)
def test_T4_fuzz_truncated_records_are_incomplete_then_resume(
    kind: str, texts: list[bytes], from_client: bool, where: int, flat: bool
) -> None:
    """T4/M2: records cut anywhere → the whole ones decrypt, the cut one is INCOMPLETE with
    MISSING exactly what its header (or the 5-byte header) still needs, and once the rest arrives
    every plaintext comes out, in order: INCOMPLETE does not harm the context."""

    async def main() -> None:
        async with established(kind) as pair:
            sender, receiver = pair.sides(from_client)
            records = [sender.encrypt(text) for text in texts]
            wire = b"".join(records)
            cut = where % len(wire)
            whole = record_at(records, cut)
            got, stop, rest = drain(receiver, wire[:cut], flat=flat)
            assert got == texts[:whole]
            if rest:
                assert isinstance(stop, Decrypted), stop
                assert stop.missing == expected_missing(rest)
            more, stop, _ = drain(receiver, rest + wire[cut:], flat=flat)
            assert stop is None, stop
            assert got + more == texts

    run(main())


# --------------------------------------------------------------------------- E4 on the flat facade


def _next_token(pair: Pair, receiver: SecurityContext) -> bytes:
    """The output of the receiver's next ISC/ASC with ``pInput`` None (E4: the alert goes out
    there): nothing when it answers INCOMPLETE (T3: output untouched)."""
    out = token_out(4096)
    creds = pair.client_credentials if receiver is pair.client else pair.server_credentials
    if receiver.role is Role.CLIENT:
        status = InitializeSecurityContext(
            creds.handle,
            receiver.handle,
            target_for(pair.kind),
            ISC_REQ_CONFIDENTIALITY | ISC_REQ_STREAM,
            0,
            SECURITY_NATIVE_DREP,
            None,
            0,
            receiver.handle,
            out,
            None,
            None,
        )
    else:
        status = AcceptSecurityContext(
            creds.handle,
            receiver.handle,
            None,
            ASC_FLAGS,
            SECURITY_NATIVE_DREP,
            receiver.handle,
            out,
            None,
            None,
        )
    if status == SEC_E_INCOMPLETE_MESSAGE:
        return b""
    return out.pBuffers[0].data()


@pytest.mark.parametrize("kind", KINDS)
@FUZZ
@given(
    text=st.binary(min_size=1, max_size=48),
    from_client=st.booleans(),
    where=st.integers(0, 1 << 16),
    xor=st.integers(1, 255),
)
def test_E4_fuzz_flat_refused_record_sends_one_encrypted_fatal_alert(
    kind: str, text: bytes, from_client: bool, where: int, xor: int
) -> None:
    """E4: after DecryptMessage refuses a changed record, the next ISC/ASC outputs exactly one
    fatal alert protected under the current keys (the sender decrypts it to a failure, not a
    close), and after SCHANNEL_SHUTDOWN the next one outputs nothing — no close_notify."""

    async def main() -> None:
        async with established(kind) as pair:
            sender, receiver = pair.sides(from_client)
            record = sender.encrypt(text)
            _, stop, _ = drain(
                receiver, flip(record, 5 + where % (len(record) - 5), xor), flat=True
            )
            assert isinstance(stop, SspiError), stop
            alert = _next_token(pair, receiver)
            kinds = [(t, len(body)) for t, body in wire_records(alert)]
            assert len(kinds) == 1, kinds
            ((content_type, body),) = wire_records(alert)
            assert is_encrypted_alert(kind, content_type, body), kinds
            with pytest.raises(SspiError) as caught:
                sender.decrypt(alert)
            assert not SEC_SUCCESS(caught.value.status)
            control = SecBufferDesc(
                [SecBuffer.of(SECBUFFER_TOKEN, struct.pack("<I", SCHANNEL_SHUTDOWN))]
            )
            ApplyControlToken(receiver.handle, control)
            assert _next_token(pair, receiver) == b""

    run(main())
