"""The Schannel package context's phases (DESIGN "State machines"; T8, T11, M1, M2, M4, E4).

A sweep over every (phase, event) pair of the table against an expected matrix written out here,
then real contexts driven through the phases.
"""

from __future__ import annotations

import itertools

import pytest

from sspi_async._flags import TLS1_ALERT_CLOSE_NOTIFY, TLS1_ALERT_FATAL, TLS1_ALERT_WARNING
from sspi_async._machine import IllegalTransitionError, Machine, Refused
from sspi_async._status import SecurityStatus as S
from sspi_async.packages import PackageError
from sspi_async.packages._records import alert_record
from sspi_async.packages.schannel._phases import (
    COMPLETE_PHASES,
    FAILED_PHASES,
    PHASES,
    Event,
    Phase,
)
from tests.packages.schannel_support import absorb_tickets, client, connected, tls12_client

P, E = Phase, Event
UNSUP, EXPIRED, OOS = (
    S.SEC_E_UNSUPPORTED_FUNCTION,
    S.SEC_E_CONTEXT_EXPIRED,
    S.SEC_E_OUT_OF_SEQUENCE,
)
#: Every pair the table holds, written out: a phase, or the refusal status. Absent: illegal.
EXPECTED: dict[Phase, dict[Event, Phase | int]] = {
    P.HANDSHAKING: {E.DONE: P.OPEN, E.FAIL: P.HANDSHAKE_FAILED, E.ENCRYPT: UNSUP, E.DECRYPT: UNSUP},
    P.HANDSHAKE_FAILED: {E.FAIL: P.HANDSHAKE_FAILED, E.ENCRYPT: UNSUP, E.DECRYPT: UNSUP},
    P.OPEN: {
        E.ENCRYPT: P.OPEN, E.DECRYPT: P.OPEN, E.REPLY_QUEUED: P.REPLY_PENDING,
        E.REPLY_TAKEN: P.OPEN, E.PEER_CLOSE: P.PEER_CLOSED, E.LOCAL_CLOSE: P.CLOSING,
        E.REFUSE: P.ALERT_PENDING, E.FAIL: P.FAILED,
    },
    P.REPLY_PENDING: {
        E.ENCRYPT: OOS, E.DECRYPT: P.REPLY_PENDING, E.REPLY_QUEUED: P.REPLY_PENDING,
        E.REPLY_TAKEN: P.OPEN, E.PEER_CLOSE: P.PEER_CLOSED, E.LOCAL_CLOSE: P.CLOSING,
        E.REFUSE: P.ALERT_PENDING, E.FAIL: P.FAILED,
    },
    P.PEER_CLOSED: {
        E.ENCRYPT: P.PEER_CLOSED, E.DECRYPT: EXPIRED, E.REPLY_TAKEN: P.PEER_CLOSED,
        E.LOCAL_CLOSE: P.CLOSED, E.FAIL: P.FAILED,
    },
    P.CLOSING: {
        E.ENCRYPT: EXPIRED, E.DECRYPT: P.CLOSING, E.REPLY_QUEUED: P.CLOSING,
        E.REPLY_TAKEN: P.CLOSING, E.PEER_CLOSE: P.CLOSED, E.LOCAL_CLOSE: P.CLOSING,
        E.REFUSE: P.ALERT_PENDING, E.FAIL: P.FAILED,
    },
    P.CLOSED: {
        E.ENCRYPT: EXPIRED, E.DECRYPT: EXPIRED, E.REPLY_TAKEN: P.CLOSED, E.LOCAL_CLOSE: P.CLOSED,
    },
    P.ALERT_PENDING: {E.ENCRYPT: EXPIRED, E.DECRYPT: EXPIRED, E.ALERT_TAKEN: P.FAILED},
    P.FAILED: {E.ENCRYPT: EXPIRED, E.DECRYPT: EXPIRED, E.ALERT_TAKEN: P.FAILED},
}  # fmt: skip


@pytest.mark.parametrize(
    ("phase", "event"), list(itertools.product(Phase, Event)), ids=lambda x: x.name
)
def test_every_phase_event_pair_is_as_written(phase: Phase, event: Event) -> None:
    """DESIGN "State machines": each (phase, event) moves, refuses or is illegal as written."""
    machine = Machine("Schannel context", PHASES, phase, sticky=Phase.FAILED)
    expected = EXPECTED[phase].get(event)
    if expected is None:
        with pytest.raises(IllegalTransitionError, match=f"{event.value} is not possible in"):
            machine.fire(event)
        assert machine.state is Phase.FAILED  # an error leaves the machine failed
    elif isinstance(expected, Phase):
        assert machine.fire(event) is expected
        assert machine.state is expected
    else:
        outcome = machine.fire(event)
        assert isinstance(outcome, Refused)
        assert int(outcome) == expected
        assert machine.state is phase


def test_failed_phases_never_lead_back() -> None:
    """E4/T11: from a failed phase no event leads to a phase where records flow again."""
    for (phase, _), outcome in PHASES.items():
        if phase in FAILED_PHASES and isinstance(outcome, Phase):
            assert outcome in FAILED_PHASES
    assert FAILED_PHASES - {P.HANDSHAKE_FAILED} <= COMPLETE_PHASES


def test_phases_follow_a_connection_and_its_close() -> None:
    """M2/M4: handshake → open; close_notify sent → closing; the peer's → closed."""
    c, s, run = connected()
    absorb_tickets(c, run)  # TLS 1.3: the client reads the tickets first (sequence numbers)
    assert (c.phase, s.phase) == (P.OPEN, P.OPEN)
    close = c.alert(TLS1_ALERT_WARNING, TLS1_ALERT_CLOSE_NOTIFY)
    assert c.phase is P.CLOSING
    assert c.alert(TLS1_ALERT_WARNING, TLS1_ALERT_CLOSE_NOTIFY) == b""  # idempotent (M4)
    assert s.decrypt(close).status == S.SEC_I_CONTEXT_EXPIRED
    assert s.phase is P.PEER_CLOSED
    s_close = s.alert(TLS1_ALERT_WARNING, TLS1_ALERT_CLOSE_NOTIFY)
    assert s.phase is P.CLOSED
    assert c.decrypt(s_close).status == S.SEC_I_CONTEXT_EXPIRED
    assert c.phase is P.CLOSED


@pytest.mark.parametrize("tls12", [False, True], ids=["tls13", "tls12"])
def test_refused_record_hands_out_its_alert_once(tls12: bool) -> None:
    """E4: a refused record → ALERT_PENDING; the step takes the alert → FAILED; then nothing."""
    c, s, _ = connected(tls12_client() if tls12 else None)
    record = bytearray(b"".join(c.encrypt(b"integrity")))
    record[-1] ^= 0x01
    assert s.decrypt(bytes(record)).status == S.SEC_E_MESSAGE_ALTERED
    assert s.phase is P.ALERT_PENDING
    alert = s.alert(TLS1_ALERT_WARNING, TLS1_ALERT_CLOSE_NOTIFY)  # SCHANNEL_SHUTDOWN asks
    assert alert
    assert alert != alert_record(TLS1_ALERT_WARNING, TLS1_ALERT_CLOSE_NOTIFY)
    assert s.phase is P.FAILED
    assert s.alert(TLS1_ALERT_WARNING, TLS1_ALERT_CLOSE_NOTIFY) == b""
    assert s.step(b"").output == b""
    with pytest.raises(PackageError) as refused:
        s.encrypt(b"no")
    assert refused.value.status == S.SEC_E_CONTEXT_EXPIRED


def test_fatal_alert_during_the_handshake_is_plaintext_and_fails() -> None:
    """T9/M4: before completion an alert is a plaintext record; a fatal one fails the context."""
    c = client()
    c.step(b"")
    assert c.alert(TLS1_ALERT_FATAL, 40) == alert_record(TLS1_ALERT_FATAL, 40)
    assert c.phase is P.HANDSHAKE_FAILED
    assert not c.complete
    assert c.step(b"").status == S.SEC_E_CONTEXT_EXPIRED
    assert c.alert(TLS1_ALERT_WARNING, TLS1_ALERT_CLOSE_NOTIFY) == b""  # nothing after it
