"""SimTLS package and the shared alert tables: plain synchronous tests, no event loop (SPEC §4,
§5 M1-M3, T5-T12)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sspi_async._attributes import (
    SecPkgContext_ApplicationProtocol,
    SecPkgContext_CipherInfo,
    SecPkgContext_ConnectionInfo,
)
from sspi_async._flags import (
    ASC_REQ_DELEGATE,
    ASC_RET_IDENTIFY,
    ISC_REQ_DELEGATE,
    ISC_REQ_IDENTIFY,
    ISC_RET_MUTUAL_AUTH,
    SECPKG_ATTR_APPLICATION_PROTOCOL,
    SECPKG_ATTR_CIPHER_INFO,
    SECPKG_ATTR_CONNECTION_INFO,
    SECPKG_ATTR_NEGOTIATION_INFO,
    SECPKG_CRED_BOTH,
    SECPKG_CRED_INBOUND,
    SECPKG_CRED_OUTBOUND,
    SP_PROT_TLS1_2_CLIENT,
    SP_PROT_TLS1_2_SERVER,
    SP_PROT_TLS1_3_CLIENT,
    SP_PROT_TLS1_3_SERVER,
    Role,
)
from sspi_async._status import SecurityStatus as S
from sspi_async.packages import (
    ContextRequest,
    PackageContext,
    PackageCredential,
    PackageError,
    PeerIdentity,
    SecurityPackage,
    StepResult,
)
from sspi_async.packages._alerts import (
    ALERT_FOR_STATUS,
    RECEIVED_ALERT_STATUS,
    alert_for_status,
    status_for_received_alert,
)
from sspi_async.packages._records import alert_record, make_record, split_records
from sspi_async.packages.simtls import (
    SIMTLS_PACKAGE_NAME,
    SimTLSConfig,
    SimTLSContext,
    SimTLSCredential,
    SimTLSPackage,
)

CONTINUE = S.SEC_I_CONTINUE_NEEDED
OK = S.SEC_E_OK
PKG = SimTLSPackage()
SERVER = "server.example"


def counter_random(start: int = 0) -> Callable[[int], bytes]:
    """A deterministic random source: consecutive byte values."""
    counter = itertools.count(start)
    return lambda n: bytes(next(counter) & 0xFF for _ in range(n))


def credential(use: int, **fields: Any) -> SimTLSCredential:
    return PKG.acquire_credentials(None, use, SimTLSConfig(**fields))


def client_ctx(
    *,
    target: str | None = SERVER,
    flags: int = 0,
    request_alpn: tuple[bytes, ...] | None = None,
    seed: int = 0,
    **fields: Any,
) -> SimTLSContext:
    fields.setdefault("principal", "alice")
    fields.setdefault("secret", b"shared")
    cred = credential(SECPKG_CRED_OUTBOUND, **fields)
    return PKG.new_context(
        cred, ContextRequest(Role.CLIENT, target, flags, request_alpn, counter_random(seed))
    )


def server_ctx(
    *,
    flags: int = 0,
    request_alpn: tuple[bytes, ...] | None = None,
    seed: int = 100,
    **fields: Any,
) -> SimTLSContext:
    fields.setdefault("principal", SERVER)
    fields.setdefault("secret", b"shared")
    cred = credential(SECPKG_CRED_INBOUND, **fields)
    return PKG.new_context(
        cred, ContextRequest(Role.SERVER, None, flags, request_alpn, counter_random(seed))
    )


def drive(client: SimTLSContext, server: SimTLSContext) -> list[tuple[str, StepResult]]:
    """Ping-pong the tokens until both sides are complete or one fails."""
    steps: list[tuple[str, StepResult]] = []
    token = b""
    side, other, names = client, server, ("C", "S")
    while True:
        result = side.step(token)
        steps.append((names[0], result))
        if result.status not in (CONTINUE, OK) or (client.complete and server.complete):
            return steps
        token = result.output
        side, other, names = other, side, (names[1], names[0])


def peer_of(ctx: SimTLSContext) -> PeerIdentity:
    peer = ctx.peer()
    assert peer is not None
    return peer


def shape(steps: list[tuple[str, StepResult]]) -> list[tuple[str, int, bool]]:
    return [(name, result.status, bool(result.output)) for name, result in steps]


def connected(rounds: int = 1, **server_fields: Any) -> tuple[SimTLSContext, SimTLSContext]:
    client, server = client_ctx(rounds=rounds), server_ctx(**server_fields)
    drive(client, server)
    assert client.complete
    assert server.complete
    return client, server


def records(data: bytes) -> list[tuple[int, bytes]]:
    out = []
    while data:
        length = 5 + int.from_bytes(data[3:5], "big")
        out.append((data[0], data[5:length]))
        data = data[length:]
    return out


def fatal(description: int) -> bytes:
    return alert_record(2, description)


# --- handshake shapes (T8)


def test_rounds_1_sequence() -> None:
    """T8: TLS 1.3 shape: client CONTINUE, OK with its Finished; server CONTINUE, OK with nothing."""
    client, server = client_ctx(), server_ctx()
    assert shape(drive(client, server)) == [
        ("C", CONTINUE, True),
        ("S", CONTINUE, True),
        ("C", OK, True),
        ("S", OK, False),
    ]
    assert peer_of(client).principal == SERVER
    assert peer_of(server).principal == "alice"


def test_rounds_2_sequence() -> None:
    """T8: TLS 1.2 shape: client CONTINUE, CONTINUE, OK (empty); server CONTINUE, OK (non-empty)."""
    client, server = client_ctx(rounds=2), server_ctx()
    assert shape(drive(client, server)) == [
        ("C", CONTINUE, True),
        ("S", CONTINUE, True),
        ("C", CONTINUE, True),
        ("S", OK, True),
        ("C", OK, False),
    ]


@pytest.mark.parametrize("rounds", range(2, 9))
def test_extra_rounds_sequence(rounds: int) -> None:
    """T8: rounds=k: the client sees CONTINUE k times then OK, the server CONTINUE k-1 times."""
    client, server = client_ctx(rounds=rounds), server_ctx(rounds=1)  # the server follows
    steps = drive(client, server)
    client_statuses = [r.status for name, r in steps if name == "C"]
    server_statuses = [r.status for name, r in steps if name == "S"]
    assert client_statuses == [CONTINUE] * rounds + [OK]
    assert server_statuses == [CONTINUE] * (rounds - 1) + [OK]
    assert client.complete
    assert server.complete


def test_rounds_3_exact() -> None:
    """T8: rounds=3 adds one ping/pong trip between ServerHelloDone and the client's proof."""
    client, server = client_ctx(rounds=3), server_ctx()
    assert shape(drive(client, server)) == [
        ("C", CONTINUE, True),
        ("S", CONTINUE, True),
        ("C", CONTINUE, True),
        ("S", CONTINUE, True),
        ("C", CONTINUE, True),
        ("S", OK, True),
        ("C", OK, False),
    ]


@pytest.mark.parametrize("rounds", [1, 2, 5])
def test_tokens_are_tls_handshake_records(rounds: int) -> None:
    """T1-T7 framing: every token is whole type-22 records, version 0x0303, bodies <= 16384."""
    client, server = client_ctx(rounds=rounds), server_ctx(session_tickets=True)
    for _, result in drive(client, server):
        if not result.output:
            continue
        assert split_records(result.output) == (len(result.output), 0)
        for content_type, body in records(result.output):
            assert content_type == 22
            assert len(body) <= 16384
        assert result.output[1:3] == b"\x03\x03"


def test_deterministic_bytes() -> None:
    """SPEC §4: the same random source gives the same bytes on the wire."""
    first = [r.output for _, r in drive(client_ctx(), server_ctx())]
    second = [r.output for _, r in drive(client_ctx(), server_ctx())]
    assert first == second
    third = [r.output for _, r in drive(client_ctx(seed=7), server_ctx())]
    assert third != first


def test_step_after_completion_is_ok() -> None:
    """M2: step(b"") after completion (the call after SEC_I_RENEGOTIATE) is OK, no output."""
    client, server = connected()
    for ctx in (client, server):
        result = ctx.step(b"")
        assert (result.status, result.output, result.consumed) == (OK, b"", 0)


# --- authentication failures (SPEC §4, T10, T11)


def test_secret_mismatch_rounds_1() -> None:
    """T11: rounds=1 wrong secret: client MUTUAL_AUTH_FAILED + access_denied; server LOGON_DENIED."""
    client, server = client_ctx(secret=b"one"), server_ctx(secret=b"two")
    hello = client.step(b"")
    flight = server.step(hello.output)
    result = client.step(flight.output)
    assert result.status == S.SEC_E_MUTUAL_AUTH_FAILED
    assert result.output == fatal(49)
    assert server.step(result.output) == StepResult(S.SEC_E_LOGON_DENIED, b"", len(result.output))
    assert not client.complete
    assert not server.complete


def test_secret_mismatch_rounds_2() -> None:
    """T11: rounds=2 wrong secret: server LOGON_DENIED + access_denied; client gets LOGON_DENIED."""
    client, server = client_ctx(secret=b"one", rounds=2), server_ctx(secret=b"two")
    steps = drive(client, server)
    assert shape(steps)[-1] == ("S", S.SEC_E_LOGON_DENIED, True)
    alert = steps[-1][1].output
    assert alert == fatal(49)
    result = client.step(alert)
    assert (result.status, result.output) == (S.SEC_E_LOGON_DENIED, b"")


def test_tampered_server_finished_rounds_2() -> None:
    """T11: rounds=2: a server Finished that does not verify gives the client MUTUAL_AUTH_FAILED."""
    client, server = client_ctx(rounds=2), server_ctx()
    token = client.step(b"").output
    token = client.step(server.step(token).output).output
    final = bytearray(server.step(token).output)
    final[-1] ^= 1
    result = client.step(bytes(final))
    assert (result.status, result.output) == (S.SEC_E_MUTUAL_AUTH_FAILED, fatal(49))


def test_target_name_mismatch() -> None:
    """T10: the server's principal differs from pszTargetName: WRONG_PRINCIPAL + bad_certificate."""
    client, server = client_ctx(target="other.example"), server_ctx()
    flight = server.step(client.step(b"").output)
    result = client.step(flight.output)
    assert (result.status, result.output) == (S.SEC_E_WRONG_PRINCIPAL, fatal(42))
    assert server.step(result.output).status == S.SEC_E_CERT_UNKNOWN


@pytest.mark.parametrize("target", [None, ""])
def test_no_target_name_accepts_any_server(target: str | None) -> None:
    """T10: pszTargetName NULL (or empty) skips the name check."""
    client, server = client_ctx(target=target), server_ctx()
    assert shape(drive(client, server))[-1] == ("S", OK, False)
    assert peer_of(client).principal == SERVER


def test_anonymous_client_allowed() -> None:
    """SPEC §4: an anonymous client is accepted with allow_anonymous; the peer principal is None."""
    client = client_ctx(principal=None)
    server = server_ctx(allow_anonymous=True)
    drive(client, server)
    assert client.complete
    assert server.complete
    assert peer_of(server).principal is None


def test_anonymous_client_without_config() -> None:
    """C2: OUTBOUND with no auth data is an anonymous client with an empty secret."""
    cred = PKG.acquire_credentials(None, SECPKG_CRED_OUTBOUND, None)
    client = PKG.new_context(cred, ContextRequest(Role.CLIENT, None, 0, None, counter_random()))
    server = server_ctx(secret=b"", allow_anonymous=True)
    drive(client, server)
    assert client.complete
    assert server.complete


def test_anonymous_client_refused() -> None:
    """T11: without allow_anonymous the server refuses at the ClientHello: LOGON_DENIED + alert."""
    client, server = client_ctx(principal=None), server_ctx()
    result = server.step(client.step(b"").output)
    assert (result.status, result.output) == (S.SEC_E_LOGON_DENIED, fatal(49))
    assert client.step(result.output).status == S.SEC_E_LOGON_DENIED


# --- ALPN (T12)


def alpn_of(ctx: SimTLSContext) -> SecPkgContext_ApplicationProtocol:
    value = ctx.query(SECPKG_ATTR_APPLICATION_PROTOCOL)
    assert isinstance(value, SecPkgContext_ApplicationProtocol)
    return value


def test_alpn_server_preference_wins() -> None:
    """T12: the server selects its first preference present in the client's list [42]."""
    client = client_ctx(alpn=("h2", "http/1.1"))
    server = server_ctx(alpn=("http/1.1", "h2"))
    drive(client, server)
    for ctx in (client, server):
        assert alpn_of(ctx) == SecPkgContext_ApplicationProtocol(1, 2, 8, b"http/1.1")


def test_alpn_from_request_buffer() -> None:
    """T12: ids from a SECBUFFER_APPLICATION_PROTOCOLS input override the credential's."""
    client = client_ctx(alpn=("http/1.1",), request_alpn=(b"h2",))
    server = server_ctx(alpn=("http/1.1",), request_alpn=(b"h2", b"http/1.1"))
    drive(client, server)
    assert alpn_of(client).ProtocolId == b"h2"
    assert alpn_of(server).ProtocolId == b"h2"


def test_alpn_no_overlap() -> None:
    """T12: no common protocol and not required: the handshake succeeds with no protocol."""
    client = client_ctx(alpn=("h2",))
    server = server_ctx(alpn=("http/1.1",))
    drive(client, server)
    assert alpn_of(client) == SecPkgContext_ApplicationProtocol(0, 0, 0, b"")
    assert alpn_of(server).ProtoNegoStatus == 0


def test_alpn_required_mismatch() -> None:
    """T12: no overlap with alpn_required: APPLICATION_PROTOCOL_MISMATCH + no_app_protocol."""
    client = client_ctx(alpn=("h2",))
    server = server_ctx(alpn=("http/1.1",), alpn_required=True)
    result = server.step(client.step(b"").output)
    assert (result.status, result.output) == (S.SEC_E_APPLICATION_PROTOCOL_MISMATCH, fatal(120))
    assert client.step(result.output).status == S.SEC_E_APPLICATION_PROTOCOL_MISMATCH


def test_alpn_required_and_client_offers_none() -> None:
    """T12: alpn_required also refuses a client that offers no protocol at all."""
    result = server_ctx(alpn=("h2",), alpn_required=True).step(client_ctx().step(b"").output)
    assert result.status == S.SEC_E_APPLICATION_PROTOCOL_MISMATCH


def test_bad_request_alpn_refused() -> None:
    """T12: an empty protocol id in the request is refused with INVALID_TOKEN."""
    with pytest.raises(PackageError) as info:
        client_ctx(request_alpn=(b"",))
    assert info.value.status == S.SEC_E_INVALID_TOKEN


# --- flags and credential direction (I3, C1, C2)


def test_identify_flag() -> None:
    """I3: ISC_REQ_IDENTIFY: the server grants ASC_RET_IDENTIFY and marks the peer identify-only."""
    client, server = client_ctx(flags=ISC_REQ_IDENTIFY), server_ctx()
    steps = drive(client, server)
    server_final = [r for name, r in steps if name == "S"][-1]
    client_final = [r for name, r in steps if name == "C"][-1]
    assert server_final.attributes & ASC_RET_IDENTIFY
    assert client_final.attributes & ISC_RET_MUTUAL_AUTH
    assert peer_of(server).identify_only
    assert not peer_of(client).identify_only


def test_no_identify_by_default() -> None:
    """I3: without ISC_REQ_IDENTIFY nothing is identify-only and no IDENTIFY bit is granted."""
    client, server = client_ctx(), server_ctx()
    steps = drive(client, server)
    assert not any(r.attributes & ASC_RET_IDENTIFY for name, r in steps if name == "S")
    assert not peer_of(server).identify_only


def test_delegate_refused() -> None:
    """I3: TLS never delegates: ISC_REQ_DELEGATE / ASC_REQ_DELEGATE are UNSUPPORTED_FUNCTION."""
    with pytest.raises(PackageError) as info:
        client_ctx(flags=ISC_REQ_DELEGATE)
    assert info.value.status == S.SEC_E_UNSUPPORTED_FUNCTION
    with pytest.raises(PackageError) as info:
        server_ctx(flags=ASC_REQ_DELEGATE)
    assert info.value.status == S.SEC_E_UNSUPPORTED_FUNCTION


@pytest.mark.parametrize(
    ("use", "role"), [(SECPKG_CRED_OUTBOUND, Role.SERVER), (SECPKG_CRED_INBOUND, Role.CLIENT)]
)
def test_wrong_direction_credential(use: int, role: Role) -> None:
    """C2: an OUTBOUND-only credential on a server, INBOUND-only on a client: INVALID_HANDLE."""
    cred = credential(use, principal="p", secret=b"s")
    with pytest.raises(PackageError) as info:
        PKG.new_context(cred, ContextRequest(role, None, 0, None, counter_random()))
    assert info.value.status == S.SEC_E_INVALID_HANDLE


def test_both_credential_serves_both_sides() -> None:
    """C1: a BOTH credential can be the client and the server."""
    cred = credential(SECPKG_CRED_BOTH, principal=SERVER, secret=b"s")
    client = PKG.new_context(cred, ContextRequest(Role.CLIENT, SERVER, 0, None, counter_random()))
    server = PKG.new_context(cred, ContextRequest(Role.SERVER, None, 0, None, counter_random(50)))
    drive(client, server)
    assert client.complete
    assert server.complete


@pytest.mark.parametrize(
    ("principal", "use", "auth_data", "status"),
    [
        (None, 0, None, S.SEC_E_NO_CREDENTIALS),
        (None, 4, SimTLSConfig(principal="p"), S.SEC_E_NO_CREDENTIALS),
        (None, SECPKG_CRED_OUTBOUND, {"principal": "p"}, S.SEC_E_UNKNOWN_CREDENTIALS),
        (None, SECPKG_CRED_INBOUND, None, S.SEC_E_NO_CREDENTIALS),
        ("srv", SECPKG_CRED_INBOUND, None, S.SEC_E_NO_CREDENTIALS),
        (None, SECPKG_CRED_BOTH, SimTLSConfig(secret=b"s"), S.SEC_E_NO_CREDENTIALS),
        (None, SECPKG_CRED_OUTBOUND, SimTLSConfig(rounds=0), S.SEC_E_UNKNOWN_CREDENTIALS),
        (None, SECPKG_CRED_OUTBOUND, SimTLSConfig(rounds=9), S.SEC_E_UNKNOWN_CREDENTIALS),
        (None, SECPKG_CRED_OUTBOUND, SimTLSConfig(principal=""), S.SEC_E_UNKNOWN_CREDENTIALS),
        (None, SECPKG_CRED_OUTBOUND, SimTLSConfig(alpn=("",)), S.SEC_E_UNKNOWN_CREDENTIALS),
        (
            None,
            SECPKG_CRED_OUTBOUND,
            SimTLSConfig(tls_version_bytes=0x10000),
            S.SEC_E_UNKNOWN_CREDENTIALS,
        ),
        (None, SECPKG_CRED_OUTBOUND, SimTLSConfig(secret="text"), S.SEC_E_UNKNOWN_CREDENTIALS),  # type: ignore[arg-type]
    ],
)
def test_acquire_credentials_validation(
    principal: str | None, use: int, auth_data: object, status: int
) -> None:
    """C1/C2: bad use → NO_CREDENTIALS; bad auth data → UNKNOWN_CREDENTIALS; server without identity → NO_CREDENTIALS."""
    with pytest.raises(PackageError) as info:
        PKG.acquire_credentials(principal, use, auth_data)
    assert info.value.status == status


def test_acquire_credentials_success() -> None:
    """C2/C3: anonymous OUTBOUND; pszPrincipal fills a missing principal; far-future expiry."""
    far = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc) - datetime(
        1601, 1, 1, tzinfo=timezone.utc
    )
    anonymous = PKG.acquire_credentials(None, SECPKG_CRED_OUTBOUND, None)
    assert anonymous.principal is None
    assert anonymous.config.secret == b""
    assert anonymous.expiry == far // timedelta(microseconds=1) * 10
    named = PKG.acquire_credentials("srv", SECPKG_CRED_INBOUND, SimTLSConfig(secret=b"s"))
    assert named.principal == "srv"
    assert named.use == SECPKG_CRED_INBOUND
    kept = PKG.acquire_credentials("other", SECPKG_CRED_BOTH, SimTLSConfig(principal="srv"))
    assert kept.principal == "srv"


def test_protocol_conformance() -> None:
    """SPEC §8: the package, its credentials and contexts satisfy the package protocol."""
    assert isinstance(PKG, SecurityPackage)
    assert isinstance(credential(SECPKG_CRED_OUTBOUND), PackageCredential)
    assert isinstance(client_ctx(), PackageContext)
    info = PKG.info
    assert info.Name == SIMTLS_PACKAGE_NAME == "SimTLS"
    assert info.wRPCID == 0xFFFF
    assert info.cbMaxToken > 16384
    assert PKG.tls_framed is True
    assert PKG.offload is False


# --- messages (M1, M2)


def test_stream_sizes() -> None:
    """M1: header 5, trailer 32, maximum message 16384, 4 buffers, block size 1."""
    sizes = client_ctx().stream_sizes()
    assert (
        sizes.cbHeader,
        sizes.cbTrailer,
        sizes.cbMaximumMessage,
        sizes.cBuffers,
        sizes.cbBlockSize,
    ) == (
        5,
        32,
        16384,
        4,
        1,
    )


@pytest.mark.parametrize("rounds", [1, 2])
def test_encrypt_decrypt_both_directions(rounds: int) -> None:
    """M1/M2: records round-trip in both directions with per-direction sequence numbers."""
    client, server = connected(rounds)
    for sender, receiver in ((client, server), (server, client)):
        for message in (b"hello", b"", b"x" * 1000, b"hello"):
            header, body, trailer = sender.encrypt(message)
            record = header + body + trailer
            assert record[:3] == b"\x17\x03\x03"
            assert int.from_bytes(header[3:5], "big") == len(body) + 32 == len(message) + 32
            assert len(trailer) == 32
            assert split_records(record) == (len(record), 0)
            result = receiver.decrypt(record)
            assert (result.status, result.plaintext) == (OK, message)


def test_encrypt_hides_plaintext() -> None:
    """M1: the same plaintext twice gives different bodies (the keystream depends on the sequence)."""
    client, _ = connected()
    first = client.encrypt(b"a" * 64)[1]
    second = client.encrypt(b"a" * 64)[1]
    assert first != second
    assert b"a" * 16 not in first


@pytest.mark.parametrize("offset", [2, 5, 12, -32, -1])
def test_tampered_record_is_message_altered(offset: int) -> None:
    """M2/E4: a changed version/body/trailer byte gives MESSAGE_ALTERED and ends the context."""
    client, server = connected()
    good = b"".join(client.encrypt(b"attack at dawn"))
    bad = bytearray(good)
    bad[offset] ^= 0x01
    assert server.decrypt(bytes(bad)).status == S.SEC_E_MESSAGE_ALTERED
    # E4 (was: the context goes on): a refused record is fatal, as in every TLS stack.
    assert server.decrypt(good).status == S.SEC_E_CONTEXT_EXPIRED
    failed = server.step(b"")
    assert failed.status == S.SEC_E_MESSAGE_ALTERED
    # E4: the fatal alert (bad_record_mac) is protected under the server's keys
    assert client.decrypt(failed.output).status == S.SEC_E_MESSAGE_ALTERED


def test_replayed_record_is_message_altered() -> None:
    """M2: a record decrypted once fails the second time (its sequence number is spent)."""
    client, server = connected()
    record = b"".join(client.encrypt(b"once"))
    assert server.decrypt(record).status == OK
    assert server.decrypt(record).status == S.SEC_E_MESSAGE_ALTERED


def test_message_size_limit() -> None:
    """M1: 16384 bytes fit in one record; 16385 are BUFFER_TOO_SMALL."""
    client, server = connected()
    header, body, trailer = client.encrypt(b"\xab" * 16384)
    assert len(body) == 16384
    assert server.decrypt(header + body + trailer).plaintext == b"\xab" * 16384
    with pytest.raises(PackageError) as info:
        client.encrypt(b"\x00" * 16385)
    assert info.value.status == S.SEC_E_BUFFER_TOO_SMALL


def test_messages_before_completion() -> None:
    """M1/M2: before completion encrypt raises UNSUPPORTED_FUNCTION and decrypt returns it."""
    client = client_ctx()
    client.step(b"")
    with pytest.raises(PackageError) as info:
        client.encrypt(b"early")
    assert info.value.status == S.SEC_E_UNSUPPORTED_FUNCTION
    assert client.decrypt(make_record(23, b"\x00" * 40)).status == S.SEC_E_UNSUPPORTED_FUNCTION
    assert client.peer() is None


def test_close_notify() -> None:
    """M2/M4/E4: close_notify is exactly 15 03 03 00 02 01 00 before the handshake and one
    protected alert record after it; the peer sees SEC_I_CONTEXT_EXPIRED."""
    assert client_ctx().alert(1, 0) == bytes.fromhex("15030300020100")
    client, server = connected()
    close = client.alert(1, 0)
    assert close[:5] == bytes.fromhex("1503030022")
    assert len(close) == 5 + 2 + 32
    with pytest.raises(PackageError) as info:
        client.encrypt(b"after close")
    assert info.value.status == S.SEC_E_CONTEXT_EXPIRED
    # Half-close: the side that sent close_notify still reads.
    assert client.decrypt(b"".join(server.encrypt(b"last words"))).plaintext == b"last words"
    assert server.decrypt(close).status == S.SEC_I_CONTEXT_EXPIRED
    with pytest.raises(PackageError) as info:
        server.encrypt(b"after peer close")
    assert info.value.status == S.SEC_E_CONTEXT_EXPIRED
    assert server.decrypt(close).status == S.SEC_E_CONTEXT_EXPIRED


def test_fatal_alert_after_handshake() -> None:
    """T11/M2: a fatal alert while exchanging data gives its mapped status and ends the context;
    E4: a plaintext one once keys are in use is itself refused (unexpected_message)."""
    client, server = connected()
    assert client.decrypt(server.alert(2, 20)).status == S.SEC_E_MESSAGE_ALTERED
    _, plain = connected()
    assert plain.decrypt(fatal(20)).status == S.SEC_E_ILLEGAL_MESSAGE
    with pytest.raises(PackageError) as info:
        client.encrypt(b"x")
    assert info.value.status == S.SEC_E_CONTEXT_EXPIRED
    assert client.step(b"").status == S.SEC_E_MESSAGE_ALTERED


def test_decrypt_odd_records() -> None:
    """M2/E4: not exactly one record → INVALID_TOKEN; ChangeCipherSpec → ILLEGAL_MESSAGE."""
    client, server = connected()
    record = b"".join(client.encrypt(b"data"))
    assert server.decrypt(record[:-1]).status == S.SEC_E_INVALID_TOKEN
    assert server.decrypt(record + b"\x17").status == S.SEC_E_INVALID_TOKEN
    assert server.decrypt(record).plaintext == b"data"
    # E4 (was: the context goes on after each): a refused record ends the context.
    cases = (
        (make_record(20, b"\x01"), S.SEC_E_ILLEGAL_MESSAGE, 10),  # unexpected_message
        (make_record(21, b"\x02"), S.SEC_E_MESSAGE_ALTERED, 20),  # not protected: bad MAC
    )
    for odd, status, alert in cases:
        client, server = connected()
        assert server.decrypt(odd).status == status
        # E4: the fatal alert is protected; the client reads its description
        assert client.decrypt(server.step(b"").output).status == status_for_received_alert(alert)


def test_user_canceled_warning_is_ignored() -> None:
    """M2: a warning user_canceled is not fatal (RFC 8446 §6.1): OK with no data."""
    client, server = connected()
    assert client.decrypt(server.alert(1, 90)).status == OK
    assert client.decrypt(b"".join(server.encrypt(b"still here"))).plaintext == b"still here"


@pytest.mark.parametrize("rounds", [1, 2])
def test_session_ticket_renegotiate(rounds: int) -> None:
    """M2: a session ticket decrypts as SEC_I_RENEGOTIATE; step(b"") then gives OK, no output."""
    client, server = client_ctx(rounds=rounds), server_ctx(session_tickets=True)
    steps = drive(client, server)
    final = [r for name, r in steps if name == "S"][-1]
    ticket = records(final.output)[-1]
    assert ticket[0] == 22
    assert ticket[1][0] == 4
    ticket_record = make_record(*ticket)
    result = client.decrypt(ticket_record)
    assert (result.status, result.plaintext) == (S.SEC_I_RENEGOTIATE, b"")
    assert client.step(b"") == StepResult(OK, b"", 0, client.step(b"").attributes)
    assert client.decrypt(b"".join(server.encrypt(b"after ticket"))).plaintext == b"after ticket"


def test_ticket_consumed_by_step_after_completion() -> None:
    """M2/T6: step(ticket + app data) after completion consumes the ticket, leaves the data."""
    client, server = client_ctx(), server_ctx(session_tickets=True)
    steps = drive(client, server)
    ticket = steps[-1][1].output
    data = b"".join(server.encrypt(b"payload"))
    result = client.step(ticket + data)
    assert (result.status, result.output, result.consumed) == (OK, b"", len(ticket))
    assert client.decrypt(data).plaintext == b"payload"


def test_server_refuses_post_handshake_messages() -> None:
    """T11: a client never sends post-handshake messages; a server decrypting one says ILLEGAL_MESSAGE."""
    _client, server = connected(session_tickets=True)
    assert server.decrypt(make_record(22, b"\x04\x00\x00\x00")).status == S.SEC_E_ILLEGAL_MESSAGE


# --- malformed input, stickiness, record boundaries (T5, T6, T11)


@pytest.mark.parametrize("garbage", [b"\xfa" * 8192, b"\x00" * 8192, b"\x16\x09\x09\x00\x01\x00"])
def test_garbage_is_invalid_token(garbage: bytes) -> None:
    """T5: bytes that are not a TLS record: INVALID_TOKEN with no output [19]."""
    client = client_ctx()
    client.step(b"")
    assert client.step(garbage) == StepResult(S.SEC_E_INVALID_TOKEN, b"", len(garbage))
    assert server_ctx().step(garbage).status == S.SEC_E_INVALID_TOKEN


def test_failure_is_sticky() -> None:
    """T11: once failed, every later step returns the same status with no output."""
    client, server = client_ctx(), server_ctx()
    hello = client.step(b"").output
    flight = server.step(hello).output
    assert client.step(b"\xfa" * 100).status == S.SEC_E_INVALID_TOKEN
    assert client.step(flight) == StepResult(S.SEC_E_INVALID_TOKEN)
    assert client.step(b"") == StepResult(S.SEC_E_INVALID_TOKEN)
    assert not client.complete


def test_wrong_message_is_illegal() -> None:
    """T11: a well-formed record with the wrong message: ILLEGAL_MESSAGE + unexpected_message."""
    client = client_ctx()
    hello = client.step(b"").output
    result = client.step(hello)  # the client receives a ClientHello
    assert (result.status, result.output) == (S.SEC_E_ILLEGAL_MESSAGE, fatal(10))
    server = server_ctx()
    result = server.step(make_record(23, b"\x00" * 40))
    assert (result.status, result.output) == (S.SEC_E_ILLEGAL_MESSAGE, fatal(10))


def test_malformed_message_is_decode_error() -> None:
    """T11: a handshake message whose body does not parse: ILLEGAL_MESSAGE + decode_error."""
    result = server_ctx().step(make_record(22, b"\x01\x00\x00\x03abc"))
    assert (result.status, result.output) == (S.SEC_E_ILLEGAL_MESSAGE, fatal(50))


def test_received_alert_during_handshake() -> None:
    """T11: the peer's fatal alert ends the handshake with its mapped status and no output."""
    client = client_ctx()
    client.step(b"")
    assert client.step(fatal(40)) == StepResult(S.SEC_E_ALGORITHM_MISMATCH, b"", 7)
    assert server_ctx().step(alert_record(1, 0)).status == S.SEC_E_CONTEXT_EXPIRED


def test_early_data_after_client_finished_is_extra() -> None:
    """T6 (TLS 1.3 shape): data sent right after the client Finished is left for DecryptMessage."""
    client, server = client_ctx(), server_ctx()
    flight = server.step(client.step(b"").output).output
    finished = client.step(flight).output
    early = b"".join(client.encrypt(b"early data"))
    result = server.step(finished + early)
    assert (result.status, result.output, result.consumed) == (OK, b"", len(finished))
    assert server.decrypt(early).plaintext == b"early data"


def test_data_after_server_finished_is_extra() -> None:
    """T6 (TLS 1.2 shape): data after the server's final Finished is not consumed by the client."""
    client, server = client_ctx(rounds=2), server_ctx()
    token = server.step(client.step(b"").output).output
    final = server.step(client.step(token).output).output
    data = b"".join(server.encrypt(b"server speaks first"))
    result = client.step(final + data)
    assert (result.status, result.output, result.consumed) == (OK, b"", len(final))
    assert client.decrypt(data).plaintext == b"server speaks first"


def reframe(flight: bytes, sizes: list[int]) -> list[bytes]:
    """Re-cut the handshake bytes of ``flight`` into records of the given body sizes."""
    payload = b"".join(body for _, body in records(flight))
    out, pos = [], 0
    for size in [*sizes, len(payload)]:
        if pos >= len(payload):
            break
        out.append(make_record(22, payload[pos : pos + size]))
        pos += size
    return out


@pytest.mark.parametrize("sizes", [[1], [3], [20], [40, 1], [4, 4, 4]])
def test_flight_split_across_records_in_one_step(sizes: list[int]) -> None:
    """T4/T8: one flight cut into several records (messages split mid-way) in one input."""
    client, server = client_ctx(), server_ctx()
    flight = server.step(client.step(b"").output).output
    pieces = reframe(flight, sizes)
    assert len(pieces) > 1
    result = client.step(b"".join(pieces))
    assert (result.status, result.consumed) == (OK, sum(map(len, pieces)))
    assert server.step(result.output).status == OK


def test_flight_split_across_steps() -> None:
    """T8: one record per call: CONTINUE with no output until the flight is complete."""
    client, server = client_ctx(), server_ctx()
    flight = server.step(client.step(b"").output).output
    pieces = reframe(flight, [10, 30, 20])
    for piece in pieces[:-1]:
        assert client.step(piece) == StepResult(CONTINUE, b"", len(piece))
    result = client.step(pieces[-1])
    assert result.status == OK
    assert result.output
    assert server.step(result.output).status == OK


def test_partial_record_without_emulator() -> None:
    """T4: called directly with less than one record: INCOMPLETE_MESSAGE + missing, not a failure."""
    client, server = client_ctx(), server_ctx()
    hello = client.step(b"").output
    result = server.step(hello[:10])
    assert (result.status, result.missing) == (S.SEC_E_INCOMPLETE_MESSAGE, len(hello) - 10)
    assert server.step(b"").missing == 5
    assert server.step(hello).status == CONTINUE


# --- attributes (M3)


def test_query_attributes() -> None:
    """M3: CIPHER_INFO and CONNECTION_INFO report the negotiated version per role."""
    client, server = connected()
    cipher = client.query(SECPKG_ATTR_CIPHER_INFO)
    assert isinstance(cipher, SecPkgContext_CipherInfo)
    assert (cipher.dwProtocol, cipher.szCipherSuite, cipher.szCipher, cipher.szHash) == (
        0x0304,
        "SIMTLS_SHAKE256_HMAC_SHA256",
        "SHAKE256",
        "SHA256",
    )
    assert (cipher.dwHashLen, cipher.szExchange) == (256, "PSK")
    info = client.query(SECPKG_ATTR_CONNECTION_INFO)
    assert isinstance(info, SecPkgContext_ConnectionInfo)
    assert info.dwProtocol == SP_PROT_TLS1_3_CLIENT
    assert server.query(SECPKG_ATTR_CONNECTION_INFO).dwProtocol == SP_PROT_TLS1_3_SERVER  # type: ignore[attr-defined]


def test_negotiated_version_is_the_lower() -> None:
    """M3: a 0x0304 client and a 0x0303 server agree on 0x0303."""
    client, server = client_ctx(), server_ctx(tls_version_bytes=0x0303)
    drive(client, server)
    for ctx, bit in ((client, SP_PROT_TLS1_2_CLIENT), (server, SP_PROT_TLS1_2_SERVER)):
        assert ctx.query(SECPKG_ATTR_CIPHER_INFO).dwProtocol == 0x0303  # type: ignore[attr-defined]
        assert ctx.query(SECPKG_ATTR_CONNECTION_INFO).dwProtocol == bit  # type: ignore[attr-defined]


def test_query_errors() -> None:
    """M3: unknown attribute → UNSUPPORTED_FUNCTION; before completion → INVALID_HANDLE."""
    client = client_ctx()
    with pytest.raises(PackageError) as info:
        client.query(SECPKG_ATTR_APPLICATION_PROTOCOL)
    assert info.value.status == S.SEC_E_INVALID_HANDLE
    done, _ = connected()
    with pytest.raises(PackageError) as info:
        done.query(SECPKG_ATTR_NEGOTIATION_INFO)
    assert info.value.status == S.SEC_E_UNSUPPORTED_FUNCTION


# --- the shared alert tables (T11)


@pytest.mark.parametrize(
    ("description", "status"),
    [
        (10, S.SEC_E_ILLEGAL_MESSAGE),
        (20, S.SEC_E_MESSAGE_ALTERED),
        (40, S.SEC_E_ALGORITHM_MISMATCH),
        (42, S.SEC_E_CERT_UNKNOWN),
        (43, S.SEC_E_CERT_UNKNOWN),
        (44, S.SEC_E_CERT_UNKNOWN),
        (45, S.SEC_E_CERT_EXPIRED),
        (46, S.SEC_E_CERT_UNKNOWN),
        (48, S.SEC_E_UNTRUSTED_ROOT),
        (49, S.SEC_E_LOGON_DENIED),
        (50, S.SEC_E_ILLEGAL_MESSAGE),
        (51, S.SEC_E_DECRYPT_FAILURE),
        (70, S.SEC_E_UNSUPPORTED_FUNCTION),
        (71, S.SEC_E_ALGORITHM_MISMATCH),
        (80, S.SEC_E_INTERNAL_ERROR),
        (116, S.SEC_E_LOGON_DENIED),
        (120, S.SEC_E_APPLICATION_PROTOCOL_MISMATCH),
        (255, S.SEC_E_ILLEGAL_MESSAGE),
    ],
)
def test_status_for_received_alert(description: int, status: int) -> None:
    """T11: a received fatal alert maps to its SECURITY_STATUS; unknown ones to ILLEGAL_MESSAGE."""
    assert status_for_received_alert(description) == status


@pytest.mark.parametrize(
    ("status", "description"),
    [
        (S.SEC_E_LOGON_DENIED, 49),
        (S.SEC_E_MUTUAL_AUTH_FAILED, 51),
        (S.SEC_E_WRONG_PRINCIPAL, 42),
        (S.SEC_E_ILLEGAL_MESSAGE, 10),
        (S.SEC_E_MESSAGE_ALTERED, 20),
        (S.SEC_E_APPLICATION_PROTOCOL_MISMATCH, 120),
        (S.SEC_E_ALGORITHM_MISMATCH, 40),
        (S.SEC_E_INVALID_TOKEN, None),
        (S.SEC_E_OK, None),
        (S.SEC_E_BUFFER_TOO_SMALL, None),
    ],
)
def test_alert_for_status(status: int, description: int | None) -> None:
    """T11: the alert the local side sends for a failure status (None: nothing is sent, T5)."""
    assert alert_for_status(status) == description


def test_alert_tables_are_read_only_and_byte_sized() -> None:
    """T11: both tables are immutable and hold alert descriptions that fit in a byte."""
    assert all(0 <= d <= 255 for d in RECEIVED_ALERT_STATUS)
    assert all(0 <= d <= 255 for d in ALERT_FOR_STATUS.values())
    with pytest.raises(TypeError):
        RECEIVED_ALERT_STATUS[1] = 2  # type: ignore[index]


# --- fuzzing (T5, T11)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_server_first_step_never_raises(data: bytes) -> None:
    """T5/T11: any bytes at a server's first step give a status, never an exception."""
    server = server_ctx()
    result = server.step(data)
    assert isinstance(result.status, int)
    if result.status not in (CONTINUE, S.SEC_E_INCOMPLETE_MESSAGE):
        assert server.step(data).status == result.status  # sticky


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.integers(min_value=0, max_value=200))
def test_client_second_step_survives_mutation(noise: bytes, cut: int) -> None:
    """T5/T11: a corrupted server flight gives a status at the client, never an exception."""
    client, server = client_ctx(), server_ctx()
    flight = server.step(client.step(b"").output).output
    mutated = flight[: cut % (len(flight) + 1)] + noise
    result = client.step(mutated)
    assert isinstance(result.status, int)
    decrypted = client.decrypt(mutated)
    assert isinstance(decrypted.status, int)
