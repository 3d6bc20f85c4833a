"""SPEC §9: the observer the emulator's hooks call — decisions at queue time, token faults on the
package step's output, trace events at queue, completion and callback."""

from __future__ import annotations

from sspi_async._core._callinfo import CallInfo
from sspi_async._core._faults import FaultPlan
from sspi_async._core._observer import CallObserver
from sspi_async._core._trace import TraceRecorder
from sspi_async._status import SecurityStatus
from sspi_async.packages import StepResult

S = SecurityStatus
ISC = "SspiInitializeSecurityContextAsync"


def make_plan(*rules: dict[str, object]) -> FaultPlan:
    return FaultPlan.from_data({"rules": list(rules)})


def clock() -> float:
    return 1.0


def test_queue_failure_is_decided_and_traced() -> None:
    """§9: a queue-time failure is the decision and the traced queue status."""
    recorder = TraceRecorder(clock=clock)
    observer = CallObserver(
        faults=make_plan(
            {"action": {"kind": "fail", "status": "SEC_E_INSUFFICIENT_MEMORY", "at": "queue"}}
        ),
        recorder=recorder,
    )
    info = CallInfo(ISC, 1, side="client")
    decision = observer.on_queue(info)
    assert decision is not None
    assert decision.fail_at_queue == S.SEC_E_INSUFFICIENT_MEMORY
    assert info.decision is decision
    (event,) = recorder.events()
    assert event.queue_status == "SEC_E_INSUFFICIENT_MEMORY"
    assert event.faults == ("fail SEC_E_INSUFFICIENT_MEMORY at queue",)


def test_trace_only_records_ok_and_every_moment() -> None:
    """§9: without a plan the observer only records: queued SEC_E_OK, completed, callback."""
    recorder = TraceRecorder(clock=clock)
    observer = CallObserver(recorder=recorder)
    info = CallInfo(ISC, 1)
    assert observer.on_queue(info) is None
    result = StepResult(S.SEC_I_CONTINUE_NEEDED, b"abc")
    assert observer.on_output(info, result) is result
    observer.on_complete(info, S.SEC_I_CONTINUE_NEEDED)
    observer.on_callback(info, S.SEC_I_CONTINUE_NEEDED)
    assert [(e.kind, e.queue_status, e.result) for e in recorder.events()] == [
        ("queued", "SEC_E_OK", None),
        ("completed", None, "SEC_I_CONTINUE_NEEDED"),
        ("callback", None, "SEC_I_CONTINUE_NEEDED"),
    ]


def test_output_token_faults_apply_to_the_step_result() -> None:
    """§9: truncate changes the step's output; split keeps the bytes and exposes the chunks."""
    observer = CallObserver(
        faults=make_plan(
            {"action": {"kind": "truncate", "length": 5}}, {"action": {"kind": "split", "size": 2}}
        )
    )
    info = CallInfo(ISC, 1)
    observer.on_queue(info)
    original = StepResult(S.SEC_I_CONTINUE_NEEDED, b"abcdefgh", consumed=3)
    changed = observer.on_output(info, original)
    assert changed == StepResult(S.SEC_I_CONTINUE_NEEDED, b"abcde", consumed=3)
    assert original.output == b"abcdefgh"  # the package's result is not modified in place
    assert info.token_chunks == (b"ab", b"cd", b"e")
    observer.on_complete(info, S.SEC_E_OK)  # no recorder: nothing to do, no error
    observer.on_callback(info, S.SEC_E_OK)


def test_swapping_the_plan_restarts_counting() -> None:
    """§9: a plan swapped at run time starts with fresh counters; None removes it."""
    observer = CallObserver(faults=make_plan({"nth": 2, "action": "stall"}))
    assert not observer.idle
    assert observer.on_queue(CallInfo(ISC, 1)) is None
    observer.set_faults(make_plan({"nth": 2, "action": "stall"}))
    assert observer.on_queue(CallInfo(ISC, 1)) is None
    decision = observer.on_queue(CallInfo(ISC, 1))
    assert decision is not None
    assert decision.stall
    observer.set_faults(None)
    assert observer.idle
    assert observer.on_queue(CallInfo(ISC, 1)) is None
