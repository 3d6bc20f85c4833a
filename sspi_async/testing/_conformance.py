"""``check_package``: the contract of the package seam, checked (SPEC §8).

What a package must do, whatever its protocol:

1. ``factory()`` returns an object with the ``SecurityPackage`` shape and a ``SecPkgInfo``.
2. ``acquire_credentials`` refuses a ``use`` that is not INBOUND/OUTBOUND/BOTH with
   :class:`PackageError` carrying an error status, and returns credentials with an int expiry.
3. A client and a server context reach ``SEC_E_OK`` by exchanging ``step`` outputs, returning only
   ``SEC_I_CONTINUE_NEEDED`` / ``SEC_E_OK`` on the way, never consuming more than they were given,
   and (TLS-framed packages) emitting only whole TLS records; ``peer()`` is set once complete.
4. Records sent after the client completed (session tickets) decrypt to ``SEC_I_RENEGOTIATE``
   and the follow-up ``step(b"")`` gives ``SEC_E_OK``. Messages round-trip both ways (an empty
   one may be refused with an error status); a tampered record is not accepted; ``alert``
   returns bytes.
5. Garbage never raises from ``step``: it gives an error status, and the failure is sticky.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from .._attributes import SecPkgContext_StreamSizes, SecPkgInfo
from .._flags import SECPKG_CRED_INBOUND, SECPKG_CRED_OUTBOUND, Role
from .._status import SEC_SUCCESS, SecurityStatus
from ..packages import ContextRequest, PackageContext, PackageError, SecurityPackage, StepResult
from ..packages._records import split_records

__all__ = ("check_package",)

S = SecurityStatus
_GARBAGE = (b"\xfa" * 512, b"\x00" * 64, b"\x16\x03\x03\x00\x05hello", b"\x17\x03\x03\x00\x01x")


def _random() -> Callable[[int], bytes]:
    counter = itertools.count()
    return lambda n: bytes((next(counter) * 7 + i) & 0xFF for i in range(n))


def _check_step(name: str, result: StepResult, given: int, tls_framed: bool) -> None:
    assert isinstance(result, StepResult), (
        f"{name}.step returned {type(result).__name__}, not StepResult"
    )
    assert 0 <= result.consumed <= given, f"{name}.step consumed {result.consumed} of {given} bytes"
    if tls_framed and result.output:
        complete, _ = split_records(result.output)
        assert complete == len(result.output), f"{name}.step output is not whole TLS records"


def _handshake(package: SecurityPackage, client: PackageContext, server: PackageContext) -> None:
    framed = package.tls_framed
    to_server = client.step(b"")
    _check_step("client", to_server, 0, framed)
    assert to_server.status == S.SEC_I_CONTINUE_NEEDED, (
        f"client first step gave {to_server.status:#x}, not SEC_I_CONTINUE_NEEDED (T1)"
    )
    pending_to_server, pending_to_client = to_server.output, b""
    for _ in range(32):
        if client.complete and server.complete:
            break
        if pending_to_server:
            result = server.step(pending_to_server)
            _check_step("server", result, len(pending_to_server), framed)
            assert result.status in (S.SEC_I_CONTINUE_NEEDED, S.SEC_E_OK), (
                f"server step failed with {result.status:#x}"
            )
            pending_to_server = pending_to_server[result.consumed :]
            pending_to_client += result.output
        if pending_to_client and not client.complete:
            result = client.step(pending_to_client)
            _check_step("client", result, len(pending_to_client), framed)
            assert result.status in (S.SEC_I_CONTINUE_NEEDED, S.SEC_E_OK), (
                f"client step failed with {result.status:#x}"
            )
            pending_to_client = pending_to_client[result.consumed :]
            pending_to_server += result.output
        elif pending_to_client:
            _post_handshake(client, pending_to_client)
            pending_to_client = b""
    assert client.complete and server.complete, "the handshake did not complete within 32 steps"
    assert client.peer() is not None and server.peer() is not None, (
        "peer() must be set once complete"
    )


def _post_handshake(client: PackageContext, data: bytes) -> None:
    """Records after the client completed (session tickets) go to decrypt: each gives
    SEC_I_RENEGOTIATE (or data), and the follow-up step gives SEC_E_OK (M2)."""
    while data:
        whole, _ = split_records(data)
        assert whole, "post-handshake bytes are not whole TLS records"
        length = 5 + int.from_bytes(data[3:5], "big")
        result = client.decrypt(data[:length])
        assert result.status in (S.SEC_I_RENEGOTIATE, S.SEC_E_OK), (
            f"a post-handshake record decrypted with {result.status:#x}"
        )
        if result.status == S.SEC_I_RENEGOTIATE:
            follow_up = client.step(b"")
            assert follow_up.status == S.SEC_E_OK, (
                f"the step after SEC_I_RENEGOTIATE gave {follow_up.status:#x}, not SEC_E_OK (M2)"
            )
        data = data[length:]


def _roundtrip(sender: PackageContext, receiver: PackageContext, payload: bytes) -> None:
    sizes = sender.stream_sizes()
    assert isinstance(sizes, SecPkgContext_StreamSizes), (
        "stream_sizes() must return SecPkgContext_StreamSizes"
    )
    if not payload:
        # A package may refuse an empty record (OpenSSL never emits one), with an error status.
        try:
            parts = sender.encrypt(payload)
        except PackageError as exc:
            assert not SEC_SUCCESS(exc.status), "a refused encrypt must carry an error status"
            return
        record = b"".join(parts)
        result = receiver.decrypt(record)
        assert result.status == S.SEC_E_OK and result.plaintext == b"", (
            "an empty record did not decrypt to nothing"
        )
        return
    header, body, trailer = sender.encrypt(payload)
    record = header + body + trailer
    assert len(header) <= sizes.cbHeader and len(trailer) <= sizes.cbTrailer, (
        "header/trailer exceed stream_sizes()"
    )
    result = receiver.decrypt(record)
    assert result.status == S.SEC_E_OK and result.plaintext == payload, (
        "a record did not decrypt to its plaintext"
    )


def _tamper(sender: PackageContext, receiver: PackageContext) -> None:
    # Last: a failed integrity check may end the context, as it does in TLS.
    tampered = bytearray(b"".join(sender.encrypt(b"tamper with me")))
    tampered[-1] ^= 0x01
    assert receiver.decrypt(bytes(tampered)).status != S.SEC_E_OK, "a tampered record was accepted"


def check_package(
    factory: Callable[[], SecurityPackage],
    *,
    client_auth_data: object | None = None,
    server_auth_data: object | None = None,
    target_name: str | None = None,
    client_flags: int = 0,
    server_flags: int = 0,
) -> None:
    """Check that ``factory`` builds a package that honours the package seam.

    Args:
        factory: zero-argument callable returning the package (as given to ``register_package``).
        client_auth_data: the plain auth data for an OUTBOUND credential (after the package's
            model shaped it), or None.
        server_auth_data: the same for an INBOUND credential.
        target_name: ``pszTargetName`` for the client.
        client_flags, server_flags: ``fContextReq`` for each side.

    Raises:
        AssertionError: naming the first contract the package breaks.
    """
    package = factory()
    assert isinstance(package, SecurityPackage), (
        f"{type(package).__name__} lacks the SecurityPackage methods"
    )
    assert isinstance(package.info, SecPkgInfo) and package.info.Name, (
        "info must be a SecPkgInfo with a Name"
    )
    try:
        package.acquire_credentials(None, 0, client_auth_data)
    except PackageError as exc:
        assert not SEC_SUCCESS(exc.status), "a refused credential must carry an error status"
    else:
        raise AssertionError(
            "acquire_credentials accepted fCredentialUse=0 (C1: SEC_E_NO_CREDENTIALS)"
        )
    client_cred = package.acquire_credentials(None, SECPKG_CRED_OUTBOUND, client_auth_data)
    server_cred = package.acquire_credentials(None, SECPKG_CRED_INBOUND, server_auth_data)
    assert isinstance(client_cred.expiry, int), "credential expiry must be FILETIME ticks (int)"

    def new(role: Role) -> PackageContext:
        cred, flags = (
            (client_cred, client_flags) if role is Role.CLIENT else (server_cred, server_flags)
        )
        return package.new_context(
            cred,
            ContextRequest(
                role, target_name if role is Role.CLIENT else None, flags, None, _random()
            ),
        )

    client, server = new(Role.CLIENT), new(Role.SERVER)
    assert not client.complete and client.peer() is None, "a new context must not be complete"
    _handshake(package, client, server)
    for payload in (b"", b"x", b"hello world" * 100):
        _roundtrip(client, server, payload)
        _roundtrip(server, client, payload)
    _tamper(client, server)
    assert isinstance(client.alert(1, 0), bytes), "alert() must return the record bytes"
    for junk in _GARBAGE:
        victim = new(Role.SERVER)
        first = victim.step(junk)
        _check_step("server", first, len(junk), package.tls_framed)
        assert not SEC_SUCCESS(first.status), (
            f"garbage {junk[:8]!r}… was accepted with {first.status:#x}"
        )
        again = victim.step(junk)
        assert again.status == first.status, "a failed context must stay failed (sticky error)"
