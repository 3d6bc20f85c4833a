"""The SimTLS package context's phases (DESIGN "State machines"; T9, T11, M1, M2, M4, E4).

A sweep over every (phase, event) pair of the table against rules derived here, independently of
the table, from what the context did with its flags before the table (keys installed, close_notify
sent, close_notify received, failed, fatal alert due), then real contexts driven into each phase.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import pytest

from sspi_async._flags import TLS1_ALERT_CLOSE_NOTIFY, TLS1_ALERT_FATAL, TLS1_ALERT_WARNING
from sspi_async._machine import IllegalTransitionError, Machine, Refused
from sspi_async._status import SecurityStatus as S
from sspi_async.packages import PackageError
from sspi_async.packages._records import alert_record, make_record
from sspi_async.packages.simtls import SimTLSContext
from sspi_async.packages.simtls._phases import (
    COMPLETE_PHASES,
    FAILED_PHASES,
    HANDSHAKE_PHASES,
    PHASES,
    Event,
    Phase,
)
from tests.packages.test_simtls import client_ctx, connected, drive, server_ctx

P, E = Phase, Event
UNSUP, EXPIRED = S.SEC_E_UNSUPPORTED_FUNCTION, S.SEC_E_CONTEXT_EXPIRED
CLOSE = (TLS1_ALERT_WARNING, TLS1_ALERT_CLOSE_NOTIFY)


class Flags(NamedTuple):
    """The context's state as the flags it once was."""

    keys: bool = False  # the handshake completed
    sent: bool = False  # close_notify or a fatal alert sent
    received: bool = False  # close_notify received
    failed: bool = False  # a sticky failure status
    alert_due: bool = False  # E4: a fatal alert waits for the next ISC/ASC


#: Each phase as flags; a failed phase ignores ``sent``/``received`` (failure wins every check).
FLAGS: dict[Phase, Flags] = {
    P.HANDSHAKING: Flags(),
    P.HANDSHAKING_CLOSED: Flags(sent=True),
    P.HANDSHAKE_FAILED: Flags(failed=True),
    P.OPEN: Flags(keys=True),
    P.LOCAL_CLOSED: Flags(keys=True, sent=True),
    P.PEER_CLOSED: Flags(keys=True, received=True),
    P.CLOSED: Flags(keys=True, sent=True, received=True),
    P.ALERT_DUE: Flags(keys=True, failed=True, alert_due=True),
    P.FAILED: Flags(keys=True, failed=True),
}


def phase_of(f: Flags) -> Phase:
    """The phase for a set of flags."""
    if f.failed:
        if not f.keys:
            return P.HANDSHAKE_FAILED
        return P.ALERT_DUE if f.alert_due else P.FAILED
    if not f.keys:
        return P.HANDSHAKING_CLOSED if f.sent else P.HANDSHAKING
    return {
        (False, False): P.OPEN,
        (True, False): P.LOCAL_CLOSED,
        (False, True): P.PEER_CLOSED,
        (True, True): P.CLOSED,
    }[f.sent, f.received]


def expected(phase: Phase, event: Event) -> Phase | int | None:
    """The rule for one pair, from the flag checks (None: the context never fires it there)."""
    f = FLAGS[phase]
    reads = f.keys and not f.received and not f.failed  # decrypt gets to the record
    if event is E.ENCRYPT:  # M1
        if not f.keys:
            return UNSUP
        return EXPIRED if f.sent or f.received or f.failed else phase
    if event is E.DECRYPT:  # M2: the side that sent close_notify still reads
        if not f.keys:
            return UNSUP
        return phase if reads else EXPIRED
    if event is E.DONE:  # T8: a handshake step completes
        ok = not f.keys and not f.failed
        return phase_of(f._replace(keys=True)) if ok else None
    if event is E.FAIL:  # T11: a step fails (during the handshake, or a post-handshake record)
        return phase_of(f._replace(failed=True)) if not f.failed else None
    if event is E.REFUSE:  # E4: a refused record; its alert is due
        return phase_of(f._replace(failed=True, alert_due=True)) if reads else None
    if event is E.PEER_ALERT:  # T11: the peer's fatal alert
        return phase_of(f._replace(failed=True)) if reads else None
    if event is E.PEER_CLOSE:  # M2: the peer's close_notify
        return phase_of(f._replace(received=True)) if reads else None
    if event is E.LOCAL_CLOSE:  # M4: alert() makes a record unless a failure after keys
        return phase_of(f._replace(sent=True)) if not (f.failed and f.keys) else None
    assert event is E.ALERT_TAKEN  # E4: the due alert goes out once
    return phase_of(f._replace(alert_due=False)) if f.alert_due else None


@pytest.mark.parametrize(
    ("phase", "event"), list(itertools.product(Phase, Event)), ids=lambda x: x.name
)
def test_every_phase_event_pair_follows_the_rules(phase: Phase, event: Event) -> None:
    """M1/M2/M4/T11/E4: each (phase, event) moves, refuses or is illegal as the rules say."""
    machine = Machine("SimTLS context", PHASES, phase, sticky=Phase.FAILED)
    rule = expected(phase, event)
    if rule is None:
        assert (phase, event) not in PHASES
        with pytest.raises(
            IllegalTransitionError,
            match=f"SimTLS context: {event.value} is not possible in state {phase.value}",
        ):
            machine.fire(event)
        assert machine.state is Phase.FAILED  # an error leaves the machine failed
    elif isinstance(rule, Phase):
        assert machine.fire(event) is rule
        assert machine.state is rule
    else:
        outcome = machine.fire(event)
        assert isinstance(outcome, Refused)
        assert int(outcome) == rule
        assert machine.state is phase


def test_phase_sets_match_the_flags() -> None:
    """T11/E4: complete means keys, failed means a sticky status; nothing leaves a failure."""
    assert {p for p, f in FLAGS.items() if f.keys} == COMPLETE_PHASES
    assert {p for p, f in FLAGS.items() if f.failed} == FAILED_PHASES
    assert {p for p, f in FLAGS.items() if not f.keys} == HANDSHAKE_PHASES
    assert all(phase_of(f) is p for p, f in FLAGS.items())
    for (phase, _), outcome in PHASES.items():
        if phase in FAILED_PHASES and isinstance(outcome, Phase):
            assert outcome in FAILED_PHASES


# --- real contexts


def test_handshake_then_close_one_way_then_both() -> None:
    """T8/M4/M2: handshaking → open; close_notify sent → local closed; the peer's → closed."""
    client, server = client_ctx(), server_ctx()
    assert (client.phase, server.phase) == (P.HANDSHAKING, P.HANDSHAKING)
    drive(client, server)
    assert (client.phase, server.phase) == (P.OPEN, P.OPEN)
    close = client.alert(*CLOSE)
    assert client.phase is P.LOCAL_CLOSED
    assert client.alert(*CLOSE)  # not idempotent in SimTLS: another close_notify record
    assert client.phase is P.LOCAL_CLOSED
    assert server.decrypt(close).status == S.SEC_I_CONTEXT_EXPIRED
    assert server.phase is P.PEER_CLOSED
    server_close = server.alert(*CLOSE)
    assert server.phase is P.CLOSED
    assert client.decrypt(server_close).status == S.SEC_I_CONTEXT_EXPIRED
    assert client.phase is P.CLOSED
    assert (client.complete, client.failed, server.complete, server.failed) == (
        True,
        None,
        True,
        None,
    )


def test_close_sent_during_the_handshake_outlives_it() -> None:
    """M4/T9/M1/M2: a mid-handshake close_notify is plaintext; once complete: no sends, reads."""
    client, server = client_ctx(), server_ctx()
    hello = client.step(b"")
    assert client.alert(*CLOSE) == alert_record(*CLOSE)
    assert client.phase is P.HANDSHAKING_CLOSED
    flight = server.step(hello.output)
    finished = client.step(flight.output)
    assert finished.status == S.SEC_E_OK
    assert client.phase is P.LOCAL_CLOSED
    assert server.step(finished.output).status == S.SEC_E_OK
    with pytest.raises(PackageError, match="the connection is closed") as refused:
        client.encrypt(b"too late")
    assert refused.value.status == EXPIRED
    assert client.decrypt(b"".join(server.encrypt(b"still read"))).plaintext == b"still read"


def test_failed_handshake_still_makes_plaintext_alerts() -> None:
    """T11/T9: a failed step → handshake failed, sticky; an alert asked for after it is plaintext."""
    client = client_ctx()
    client.step(b"")
    assert client.step(b"\xfa" * 16).status == S.SEC_E_INVALID_TOKEN
    assert client.phase is P.HANDSHAKE_FAILED
    assert client.failed == S.SEC_E_INVALID_TOKEN
    assert not client.complete
    assert client.alert(TLS1_ALERT_FATAL, 40) == alert_record(TLS1_ALERT_FATAL, 40)
    assert client.phase is P.HANDSHAKE_FAILED
    assert client.decrypt(make_record(23, b"\x00" * 40)).status == UNSUP


@pytest.mark.parametrize("take", ["step", "shutdown"])
def test_refused_record_hands_out_its_alert_once(take: str) -> None:
    """E4/M4: refused record → alert due; ISC/ASC or SCHANNEL_SHUTDOWN takes it once → failed."""
    client, server = connected()
    tampered = bytearray(b"".join(client.encrypt(b"integrity")))
    tampered[-1] ^= 0x01
    record = bytes(tampered)
    assert server.decrypt(record).status == S.SEC_E_MESSAGE_ALTERED
    assert server.phase is P.ALERT_DUE
    assert server.failed == S.SEC_E_MESSAGE_ALTERED
    alert = server.step(b"").output if take == "step" else server.alert(*CLOSE)
    assert client.decrypt(alert).status == S.SEC_E_MESSAGE_ALTERED  # bad_record_mac, protected
    assert server.phase is P.FAILED
    assert server.alert(*CLOSE) == b""
    assert server.step(b"").output == b""
    assert client.phase is P.FAILED  # the client read that alert
    assert server.decrypt(record).status == EXPIRED


def test_peer_fatal_alert_fails_without_an_alert_due() -> None:
    """T11: the peer's fatal alert → failed, with nothing to send back."""
    client, server = connected()
    assert client.decrypt(server.alert(TLS1_ALERT_FATAL, 20)).status == S.SEC_E_MESSAGE_ALTERED
    assert client.phase is P.FAILED
    assert server.phase is P.LOCAL_CLOSED
    assert client.alert(*CLOSE) == b""


def _server_fails_a_late_step(server: SimTLSContext) -> bytes:
    result = server.step(make_record(22, b"\x04\x00\x00\x00"))
    assert result.status == S.SEC_E_ILLEGAL_MESSAGE
    return result.output


@pytest.mark.parametrize("closed", [False, True])
def test_failed_post_handshake_step_fails_a_complete_context(closed: bool) -> None:
    """T11/E4: a step refusing a post-handshake record → failed, its alert protected, in output."""
    client, server = connected()
    if closed:
        server.alert(*CLOSE)
    output = _server_fails_a_late_step(server)
    assert server.phase is P.FAILED
    assert server.complete
    assert output[:1] == b"\x15"
    assert len(output) > len(alert_record(TLS1_ALERT_FATAL, 10))
    if not closed:  # (after a close, the client's next record to read is the close_notify)
        assert client.decrypt(output).status == S.SEC_E_ILLEGAL_MESSAGE
