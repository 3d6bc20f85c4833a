"""The SimTLS handshake state machine (L2).

Theory of operation
-------------------
One :class:`Handshake` is one side of one connection. It sees handshake *messages* (the record
layer lives in ``_context``) and answers with messages of its own. Which message is legal in which
state is data: :data:`TRANSITIONS` maps ``(state, msg_type)`` to the handler that processes it and
whether that message ends the peer's flight. Anything not in the table is an unexpected message.
Handlers return the next state; they raise :class:`HandshakeError` (status + alert to send) to fail, and
the caller then keeps the context in a sticky failed state.

Flights (``rounds`` is the client's choice; the server follows it)::

    rounds = 1 (TLS 1.3 shape)          rounds = k >= 2 (TLS 1.2 shape + k-2 ping/pong trips)
    C: ClientHello                      C: ClientHello
    S: ServerHello, Finished            S: ServerHello, ServerHelloDone
    C: Finished            (C done)     C: Ping(i)  S: Pong(i)          for i = 1 .. k-2
    S: -                   (S done)     C: ClientKeyExchange, Finished
                                        S: Finished                     (S done)
                                        C: -                            (C done)

The transcript is SHA-256 over every handshake message exchanged, in order and byte for byte; a
Finished covers everything before it. The server may append a NewSessionTicket (a
post-handshake message, outside the transcript) after its last flight.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable
from typing import Final

from ..._flags import (
    ASC_RET_IDENTIFY,
    ISC_RET_MUTUAL_AUTH,
    TLS1_ALERT_ACCESS_DENIED,
    TLS1_ALERT_BAD_CERTIFICATE,
    TLS1_ALERT_DECODE_ERROR,
    TLS1_ALERT_ILLEGAL_PARAMETER,
    TLS1_ALERT_NO_APP_PROTOCOL,
    TLS1_ALERT_UNEXPECTED_MESSAGE,
)
from ..._status import SecurityStatus as S
from ._config import MAX_ROUNDS, SimTLSConfig
from ._keys import (
    CLIENT_FINISHED_LABEL,
    SERVER_FINISHED_LABEL,
    KeySchedule,
    derive_keys,
    finished_value,
    verify_finished,
)
from ._wire import (
    CLIENT_HELLO,
    CLIENT_KEY_EXCHANGE,
    FINISHED,
    NEW_SESSION_TICKET,
    PING,
    PONG,
    RANDOM_SIZE,
    SERVER_HELLO,
    SERVER_HELLO_DONE,
    ClientHello,
    DecodeError,
    NewSessionTicket,
    ServerHello,
    handshake_message,
    handshake_records,
    iter_messages,
)

__all__ = ("TRANSITIONS", "HandshakeError", "Handshake", "State")

#: Lifetime advertised in session tickets (seconds); SimTLS never resumes, so it is cosmetic.
TICKET_LIFETIME: Final = 7200
TICKET_SIZE: Final = 32


class State(enum.Enum):
    """Where one side of the handshake stands."""

    CLIENT_START = "client start"
    CLIENT_WAIT_SERVER_HELLO = "client waits for ServerHello"
    CLIENT_WAIT_SERVER_FINISHED_13 = "client waits for the server Finished (TLS 1.3 shape)"
    CLIENT_WAIT_SERVER_HELLO_DONE = "client waits for ServerHelloDone"
    CLIENT_WAIT_PONG = "client waits for Pong"
    CLIENT_WAIT_SERVER_FINISHED = "client waits for the server Finished"
    SERVER_WAIT_CLIENT_HELLO = "server waits for ClientHello"
    SERVER_WAIT_PING = "server waits for Ping"
    SERVER_WAIT_CLIENT_KEY_EXCHANGE = "server waits for ClientKeyExchange"
    SERVER_WAIT_CLIENT_FINISHED = "server waits for the client Finished"
    DONE = "done"


class HandshakeError(Exception):
    """The handshake fails with ``status``; ``alert`` is the fatal alert to send, if any."""

    def __init__(self, status: int, alert: int | None, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.alert = alert


def _decode_failure(exc: DecodeError) -> HandshakeError:
    return HandshakeError(S.SEC_E_ILLEGAL_MESSAGE, TLS1_ALERT_DECODE_ERROR, f"SimTLS: {exc}")


class Handshake:
    """One side's handshake: messages in, messages out, keys and the peer's identity at the end.

    Args:
        client: True for the ISC side.
        config: this side's credential data.
        alpn: client: the ids it offers; server: its preferences, best first.
        identify: client: it asked ``ISC_REQ_IDENTIFY``.
        target_name: client: ``pszTargetName`` the server's principal must equal (``None``: any).
        random: the only source of randomness.
    """

    __slots__ = (
        "_out",
        "_pending",
        "_post",
        "_random",
        "_transcript",
        "alpn",
        "client",
        "client_random",
        "config",
        "granted",
        "identify",
        "keys",
        "peer_identify",
        "peer_principal",
        "pings_done",
        "rounds",
        "selected_alpn",
        "server_random",
        "state",
        "target_name",
        "version",
    )

    def __init__(
        self,
        *,
        client: bool,
        config: SimTLSConfig,
        alpn: tuple[bytes, ...],
        identify: bool,
        target_name: str | None,
        random: Callable[[int], bytes],
    ) -> None:
        self.client = client
        self.config = config
        self.alpn = alpn
        self.identify = identify
        self.target_name = target_name
        self._random = random
        self.state = State.CLIENT_START if client else State.SERVER_WAIT_CLIENT_HELLO
        self.rounds = config.rounds
        self.version = config.tls_version_bytes
        self.client_random = b""
        self.server_random = b""
        self.keys: KeySchedule | None = None
        self.peer_principal: str | None = None
        self.peer_identify = False
        self.selected_alpn: bytes | None = None
        self.pings_done = 0
        self.granted = 0
        self._transcript = hashlib.sha256()
        self._out = bytearray()
        self._post = bytearray()
        self._pending = b""

    @property
    def done(self) -> bool:
        """True once this side has finished the handshake."""
        return self.state is State.DONE

    # --- building blocks used by the handlers

    def absorb(self, raw: bytes | memoryview) -> None:
        """Add one received handshake message to the transcript."""
        self._transcript.update(raw)

    def transcript_hash(self) -> bytes:
        """SHA-256 of every handshake message so far."""
        return self._transcript.copy().digest()

    def send(self, msg_type: int, body: bytes) -> None:
        """Queue one handshake message for this step's flight (and add it to the transcript)."""
        raw = handshake_message(msg_type, body)
        self._transcript.update(raw)
        self._out += raw

    def send_post_handshake(self, msg_type: int, body: bytes) -> None:
        """Queue a post-handshake message; it travels in its own record after the flight."""
        self._post += handshake_message(msg_type, body)

    def take_output(self) -> bytes:
        """The records of this step's flight, then any post-handshake record; clears both."""
        out = handshake_records(self._out) if self._out else b""
        if self._post:
            out += handshake_records(self._post)
        self._out = bytearray()
        self._post = bytearray()
        return out

    def random(self, size: int) -> bytes:
        """``size`` bytes from the request's random source, checked for length."""
        value = bytes(self._random(size))
        if len(value) != size:
            raise HandshakeError(
                S.SEC_E_INTERNAL_ERROR, None, f"SimTLS: random({size}) returned {len(value)} bytes"
            )
        return value

    def set_keys(self) -> KeySchedule:
        """Derive the connection keys once both randoms are known."""
        self.keys = derive_keys(self.config.secret, self.client_random, self.server_random)
        return self.keys

    # --- driving

    def start(self) -> None:
        """Client: build the ClientHello (the first flight)."""
        if self.state is not State.CLIENT_START:
            raise HandshakeError(
                S.SEC_E_INTERNAL_ERROR, None, f"SimTLS: start() in state {self.state.value}"
            )
        self.client_random = self.random(RANDOM_SIZE)
        hello = ClientHello(
            version=self.version,
            random=self.client_random,
            rounds=self.rounds,
            identify=self.identify,
            principal=self.config.principal,
            alpn=self.alpn,
        )
        self.send(CLIENT_HELLO, hello.encode())
        self.state = State.CLIENT_WAIT_SERVER_HELLO

    def feed(self, fragment: memoryview) -> bool:
        """Process the handshake bytes of one record; True once the peer's flight is complete.

        A message may span records (the tail waits for the next record); the message that ends
        a flight must end its record. Raises :class:`HandshakeError`.
        """
        data = memoryview(self._pending + bytes(fragment)) if self._pending else fragment
        try:
            messages, used = iter_messages(data)
        except DecodeError as exc:
            raise _decode_failure(exc) from exc
        for index, (msg_type, raw) in enumerate(messages):
            entry = TRANSITIONS.get((self.state, msg_type))
            if entry is None:
                raise HandshakeError(
                    S.SEC_E_ILLEGAL_MESSAGE,
                    TLS1_ALERT_UNEXPECTED_MESSAGE,
                    f"SimTLS: handshake message {msg_type} is unexpected in state {self.state.value}",
                )
            handler, ends_flight = entry
            try:
                self.state = handler(self, raw[4:], raw)
            except DecodeError as exc:
                raise _decode_failure(exc) from exc
            if ends_flight:
                if index != len(messages) - 1 or used != len(data):
                    raise HandshakeError(
                        S.SEC_E_ILLEGAL_MESSAGE,
                        TLS1_ALERT_UNEXPECTED_MESSAGE,
                        "SimTLS: handshake bytes follow the end of the peer's flight in its record",
                    )
                self._pending = b""
                return True
        self._pending = bytes(data[used:])
        return False

    def post_handshake(self, fragment: memoryview) -> int:
        """Process a post-handshake record (client: NewSessionTicket only); returns how many
        messages it held. Raises :class:`HandshakeError`."""
        try:
            messages, used = iter_messages(fragment)
            if used != len(fragment) or not messages:
                raise DecodeError("post-handshake record does not hold whole messages")
            for msg_type, raw in messages:
                if (
                    msg_type != NEW_SESSION_TICKET
                    or self.state is not State.DONE
                    or not self.client
                ):
                    raise HandshakeError(
                        S.SEC_E_ILLEGAL_MESSAGE,
                        TLS1_ALERT_UNEXPECTED_MESSAGE,
                        f"SimTLS: handshake message {msg_type} is unexpected after the handshake",
                    )
                NewSessionTicket.decode(raw[4:])
        except DecodeError as exc:
            raise _decode_failure(exc) from exc
        return len(messages)


# --- client handlers


def _client_after_round(hs: Handshake) -> State:
    """Send the next Ping, or the client's proof when the extra round trips are over."""
    if hs.pings_done < hs.rounds - 2:
        hs.send(PING, bytes((hs.pings_done + 1,)))
        return State.CLIENT_WAIT_PONG
    hs.send(CLIENT_KEY_EXCHANGE, b"")
    keys = hs.keys
    assert keys is not None
    hs.send(
        FINISHED, finished_value(keys.client_finished, CLIENT_FINISHED_LABEL, hs.transcript_hash())
    )
    return State.CLIENT_WAIT_SERVER_FINISHED


def _on_server_hello(hs: Handshake, body: memoryview, raw: memoryview) -> State:
    hello = ServerHello.decode(body)
    if hello.version > hs.config.tls_version_bytes:
        raise HandshakeError(
            S.SEC_E_ILLEGAL_MESSAGE,
            TLS1_ALERT_ILLEGAL_PARAMETER,
            f"SimTLS: server chose version {hello.version:#06x}, above the offered one",
        )
    if hs.target_name is not None and hello.principal != hs.target_name:
        raise HandshakeError(
            S.SEC_E_WRONG_PRINCIPAL,
            TLS1_ALERT_BAD_CERTIFICATE,
            f"SimTLS: server is {hello.principal!r}, not the target {hs.target_name!r}",
        )
    if hello.alpn is not None and hello.alpn not in hs.alpn:
        raise HandshakeError(
            S.SEC_E_ILLEGAL_MESSAGE,
            TLS1_ALERT_ILLEGAL_PARAMETER,
            "SimTLS: server selected an ALPN id the client did not offer",
        )
    hs.version = hello.version
    hs.server_random = hello.random
    hs.peer_principal = hello.principal
    hs.selected_alpn = hello.alpn
    hs.set_keys()
    hs.absorb(raw)
    return (
        State.CLIENT_WAIT_SERVER_FINISHED_13
        if hs.rounds == 1
        else State.CLIENT_WAIT_SERVER_HELLO_DONE
    )


def _check_server_finished(hs: Handshake, body: memoryview) -> None:
    keys = hs.keys
    assert keys is not None
    if not verify_finished(keys.server_finished, SERVER_FINISHED_LABEL, hs.transcript_hash(), body):
        # A wrong shared secret is an authentication failure: access_denied makes the server
        # report SEC_E_LOGON_DENIED (SPEC §4), where decrypt_error would give DECRYPT_FAILURE.
        raise HandshakeError(
            S.SEC_E_MUTUAL_AUTH_FAILED,
            TLS1_ALERT_ACCESS_DENIED,
            "SimTLS: the server's Finished does not verify (different secrets?)",
        )
    hs.granted |= ISC_RET_MUTUAL_AUTH


def _on_server_finished_13(hs: Handshake, body: memoryview, raw: memoryview) -> State:
    _check_server_finished(hs, body)
    hs.absorb(raw)
    keys = hs.keys
    assert keys is not None
    hs.send(
        FINISHED, finished_value(keys.client_finished, CLIENT_FINISHED_LABEL, hs.transcript_hash())
    )
    return State.DONE


def _on_server_hello_done(hs: Handshake, body: memoryview, raw: memoryview) -> State:
    if len(body):
        raise DecodeError("ServerHelloDone has a body")
    hs.absorb(raw)
    return _client_after_round(hs)


def _on_pong(hs: Handshake, body: memoryview, raw: memoryview) -> State:
    if len(body) != 1 or body[0] != hs.pings_done + 1:
        raise DecodeError("Pong does not echo the Ping")
    hs.absorb(raw)
    hs.pings_done += 1
    return _client_after_round(hs)


def _on_server_finished(hs: Handshake, body: memoryview, raw: memoryview) -> State:
    _check_server_finished(hs, body)
    hs.absorb(raw)
    return State.DONE


# --- server handlers


def _select_alpn(preferences: tuple[bytes, ...], offered: tuple[bytes, ...]) -> bytes | None:
    offered_set = set(offered)
    for proto in preferences:
        if proto in offered_set:
            return proto
    return None


def _on_client_hello(hs: Handshake, body: memoryview, raw: memoryview) -> State:
    hello = ClientHello.decode(body)
    if not 1 <= hello.rounds <= MAX_ROUNDS:
        raise HandshakeError(
            S.SEC_E_ILLEGAL_MESSAGE,
            TLS1_ALERT_ILLEGAL_PARAMETER,
            f"SimTLS: ClientHello asks for {hello.rounds} rounds (1..{MAX_ROUNDS})",
        )
    if hello.principal is None and not hs.config.allow_anonymous:
        raise HandshakeError(
            S.SEC_E_LOGON_DENIED, TLS1_ALERT_ACCESS_DENIED, "SimTLS: anonymous client refused"
        )
    selected = _select_alpn(hs.alpn, hello.alpn)
    if selected is None and hs.config.alpn_required:
        raise HandshakeError(
            S.SEC_E_APPLICATION_PROTOCOL_MISMATCH,
            TLS1_ALERT_NO_APP_PROTOCOL,
            "SimTLS: no application protocol in common and the server requires one",
        )
    hs.rounds = hello.rounds
    hs.version = min(hello.version, hs.config.tls_version_bytes)
    hs.client_random = hello.random
    hs.server_random = hs.random(RANDOM_SIZE)
    hs.peer_principal = hello.principal
    hs.peer_identify = hello.identify
    hs.selected_alpn = selected
    if hello.identify:
        hs.granted |= ASC_RET_IDENTIFY
    keys = hs.set_keys()
    hs.absorb(raw)
    principal = hs.config.principal
    assert principal is not None  # a server credential always has one
    hs.send(SERVER_HELLO, ServerHello(hs.version, hs.server_random, principal, selected).encode())
    if hs.rounds == 1:
        hs.send(
            FINISHED,
            finished_value(keys.server_finished, SERVER_FINISHED_LABEL, hs.transcript_hash()),
        )
        return State.SERVER_WAIT_CLIENT_FINISHED
    hs.send(SERVER_HELLO_DONE, b"")
    return State.SERVER_WAIT_PING if hs.rounds > 2 else State.SERVER_WAIT_CLIENT_KEY_EXCHANGE


def _on_ping(hs: Handshake, body: memoryview, raw: memoryview) -> State:
    if len(body) != 1 or body[0] != hs.pings_done + 1:
        raise DecodeError("Ping carries the wrong round number")
    hs.absorb(raw)
    hs.pings_done += 1
    hs.send(PONG, bytes((hs.pings_done,)))
    return (
        State.SERVER_WAIT_PING
        if hs.pings_done < hs.rounds - 2
        else State.SERVER_WAIT_CLIENT_KEY_EXCHANGE
    )


def _on_client_key_exchange(hs: Handshake, body: memoryview, raw: memoryview) -> State:
    if len(body):
        raise DecodeError("ClientKeyExchange has a body")
    hs.absorb(raw)
    return State.SERVER_WAIT_CLIENT_FINISHED


def _on_client_finished(hs: Handshake, body: memoryview, raw: memoryview) -> State:
    keys = hs.keys
    assert keys is not None
    if not verify_finished(keys.client_finished, CLIENT_FINISHED_LABEL, hs.transcript_hash(), body):
        raise HandshakeError(
            S.SEC_E_LOGON_DENIED,
            TLS1_ALERT_ACCESS_DENIED,
            "SimTLS: the client's Finished does not verify (different secrets?)",
        )
    hs.absorb(raw)
    if hs.rounds > 1:
        hs.send(
            FINISHED,
            finished_value(keys.server_finished, SERVER_FINISHED_LABEL, hs.transcript_hash()),
        )
    if hs.config.session_tickets:
        ticket = NewSessionTicket(TICKET_LIFETIME, hs.random(TICKET_SIZE))
        hs.send_post_handshake(NEW_SESSION_TICKET, ticket.encode())
    return State.DONE


Handler = Callable[[Handshake, memoryview, memoryview], State]

#: ``(state, received msg_type) -> (handler, the message ends the peer's flight)``.
TRANSITIONS: Final[dict[tuple[State, int], tuple[Handler, bool]]] = {
    (State.CLIENT_WAIT_SERVER_HELLO, SERVER_HELLO): (_on_server_hello, False),
    (State.CLIENT_WAIT_SERVER_FINISHED_13, FINISHED): (_on_server_finished_13, True),
    (State.CLIENT_WAIT_SERVER_HELLO_DONE, SERVER_HELLO_DONE): (_on_server_hello_done, True),
    (State.CLIENT_WAIT_PONG, PONG): (_on_pong, True),
    (State.CLIENT_WAIT_SERVER_FINISHED, FINISHED): (_on_server_finished, True),
    (State.SERVER_WAIT_CLIENT_HELLO, CLIENT_HELLO): (_on_client_hello, True),
    (State.SERVER_WAIT_PING, PING): (_on_ping, True),
    (State.SERVER_WAIT_CLIENT_KEY_EXCHANGE, CLIENT_KEY_EXCHANGE): (_on_client_key_exchange, False),
    (State.SERVER_WAIT_CLIENT_FINISHED, FINISHED): (_on_client_finished, True),
}
