"""SPEC §9 traces: the recorder (what each hook records, handle ids by first appearance, token
sizes, token bytes only on request), JSON Lines export and loading, and SPEC §11: no secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from sspi_async._buffers import SecBuffer, SecBufferDesc
from sspi_async._core._callinfo import (
    CallInfo,
    side_for_credential_use,
    token_bytes,
    token_length,
)
from sspi_async._core._fault_decider import FaultDecider
from sspi_async._core._faults import FaultPlan
from sspi_async._core._trace import (
    TraceEvent,
    TraceFormatError,
    TraceRecorder,
    events_to_jsonl,
    load_jsonl,
    parse_jsonl,
)
from sspi_async._flags import (
    SECBUFFER_ALERT,
    SECBUFFER_EMPTY,
    SECBUFFER_READONLY,
    SECBUFFER_TOKEN,
    SECPKG_CRED_BOTH,
    SECPKG_CRED_INBOUND,
    SECPKG_CRED_OUTBOUND,
)
from sspi_async._handles import SecHandle
from sspi_async._status import SecurityStatus

S = SecurityStatus
ISC = "SspiInitializeSecurityContextAsync"
ASC = "SspiAcceptSecurityContextAsync"


class FakeClock:
    """A monotonic clock that advances 1 ms per reading."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        self.now += 0.001
        return self.now


def record_round(recorder: TraceRecorder, lower: int) -> None:
    """One ISC call as the emulator's hooks would record it: queued, completed (the engine wrote
    the new context handle and a 5-byte token), callback."""
    credential = SecHandle(lower, 2)
    new_context = SecHandle()
    output = SecBufferDesc([SecBuffer(SECBUFFER_TOKEN)])
    info = CallInfo(
        ISC,
        7,
        tag="client",
        side="client",
        package="SimTLS",
        credential=credential,
        context=new_context,
        token_in=None,
        output=output,
    )
    recorder.queued(info, S.SEC_E_OK)
    new_context.dwLower, new_context.dwUpper = lower + 1, 2
    output.pBuffers[0] = SecBuffer.of(SECBUFFER_TOKEN, b"\x16\x03\x03\x00\x01")
    recorder.completed(info, S.SEC_I_CONTINUE_NEEDED)
    recorder.callback(info, S.SEC_I_CONTINUE_NEEDED)


def test_recorder_records_the_three_moments() -> None:
    """§9: one event per queued call, completion and callback, with seq, time, function, actx,
    side, package, handle ids, queue status, result and token sizes."""
    recorder = TraceRecorder(clock=FakeClock())
    record_round(recorder, 0x1234)
    assert len(recorder) == 3
    queued, completed, callback = recorder.events()
    assert queued == TraceEvent(
        seq=1,
        time=queued.time,
        kind="queued",
        function=ISC,
        actx=7,
        tag="client",
        side="client",
        package="SimTLS",
        credential=1,
        queue_status="SEC_E_OK",
    )
    assert completed.context == 1  # written at completion (A6)
    assert (completed.result, completed.token_out, completed.queue_status) == (
        "SEC_I_CONTINUE_NEEDED",
        5,
        None,
    )
    assert callback.kind == "callback"
    assert callback.result == "SEC_I_CONTINUE_NEEDED"
    assert callback.token_out is None
    assert [e.seq for e in (queued, completed, callback)] == [1, 2, 3]
    assert queued.time < completed.time < callback.time
    assert completed.token_out_hex is None


def test_handle_ids_follow_first_appearance_not_handle_values() -> None:
    """§9: handle ids are small numbers by first appearance, so runs with different (random)
    handle values give the same trace apart from times."""
    first, second = TraceRecorder(clock=FakeClock()), TraceRecorder(clock=FakeClock())
    record_round(first, 0x1111)
    record_round(first, 0x5555)
    record_round(second, 0x9999_0000)
    record_round(second, 0x0123_0000)

    def without_times(recorder: TraceRecorder) -> list[dict[str, object]]:
        return [e.model_dump(exclude={"time"}) for e in recorder.events()]

    assert without_times(first) == without_times(second)
    assert [(e.credential, e.context) for e in first.events() if e.kind == "completed"] == [
        (1, 1),
        (2, 2),
    ]


def test_token_bytes_only_with_trace_tokens() -> None:
    """§9: token bytes are recorded only with trace_tokens=True, as lowercase hex."""
    recorder = TraceRecorder(trace_tokens=True, clock=FakeClock())
    record_round(recorder, 1)
    completed = recorder.events()[1]
    assert completed.token_out == 5
    assert completed.token_out_hex == "1603030001"
    assert '"token_out_hex":"1603030001"' in recorder.to_jsonl().splitlines()[1]


def test_queued_event_lists_the_faults_that_applied() -> None:
    """§9: a queued event carries the labels of the fault-plan rules that fired for the call."""
    plan = FaultPlan.from_data(
        {"rules": [{"name": "slow", "action": {"kind": "delay", "seconds": 0.5}}]}
    )
    info = CallInfo(ASC, 1, side="server", token_in=66)
    info.decision = FaultDecider(plan).decide(ASC, None, "server", None)
    recorder = TraceRecorder(clock=FakeClock())
    recorder.queued(info, S.SEC_E_OK)
    (event,) = recorder.events()
    assert event.faults == ("slow: delay 0.5 s",)
    assert event.token_in == 66


def test_unknown_statuses_show_in_hex_and_clear_forgets() -> None:
    """§2: a status without a name is shown as 0x…; clear() empties the recorder."""
    recorder = TraceRecorder(clock=FakeClock())
    recorder.completed(CallInfo(ISC, 1), 0x80091234)
    assert recorder.events()[0].result == "0x80091234"
    recorder.clear()
    assert recorder.events() == []


def test_jsonl_round_trip(tmp_path: Path) -> None:
    """§9: a trace exported as JSON Lines loads back into equal events; unset fields are left out
    of each line; blank lines are skipped."""
    recorder = TraceRecorder(trace_tokens=True, clock=FakeClock())
    record_round(recorder, 3)
    text = recorder.to_jsonl()
    lines = text.splitlines()
    assert len(lines) == 3
    assert text.endswith("\n")
    assert "null" not in text
    assert '"faults"' not in text
    assert parse_jsonl(text + "\n\n") == recorder.events()
    path = tmp_path / "t.jsonl"
    recorder.write_jsonl(path)
    assert load_jsonl(path) == recorder.events()
    assert events_to_jsonl(load_jsonl(path)) == text


def test_trace_events_hold_no_secrets() -> None:
    """§11: a trace event has exactly these fields — no key, secret or plaintext — and a line
    that carries anything else is rejected."""
    assert set(TraceEvent.model_fields) == {
        "seq",
        "time",
        "kind",
        "function",
        "actx",
        "tag",
        "side",
        "package",
        "credential",
        "context",
        "queue_status",
        "result",
        "token_in",
        "token_out",
        "token_out_hex",
        "faults",
    }
    for name in TraceEvent.model_fields:
        assert not any(word in name for word in ("key", "secret", "plain", "password"))
    line = '{"seq":1,"time":0.0,"kind":"queued","function":"f","actx":1,"secret":"x"}'
    with pytest.raises(
        TraceFormatError,
        match=r"^<trace>:1: not a trace event: secret: Extra inputs are not permitted$",
    ):
        parse_jsonl(line)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"seq":1,"time":0,"kind":"queued","function":"f","actx":1}\n{oops',
            r"^t\.jsonl:2: not JSON: ",
        ),
        (
            '{"seq":1,"time":0,"kind":"started","function":"f","actx":1}',
            r"^t\.jsonl:1: not a trace event: kind: Input should be 'queued', 'completed' or 'callback'$",
        ),
        (
            "[1, 2]",
            r"^t\.jsonl:1: not a trace event: \(model\): Input should be a valid dictionary",
        ),
        (
            '{"seq":1,"time":0,"kind":"queued","function":"f","actx":1,"token_out_hex":"XYZ"}',
            r"^t\.jsonl:1: not a trace event: token_out_hex: String should match pattern",
        ),
    ],
)
def test_bad_trace_lines_name_the_file_and_line(text: str, message: str) -> None:
    """§9: loading a bad trace fails with one clear line naming the file and the line."""
    with pytest.raises(TraceFormatError, match=message):
        parse_jsonl(text, "t.jsonl")


def test_load_jsonl_of_a_binary_file(tmp_path: Path) -> None:
    """§9: a file that is not UTF-8 text is refused with a clear message."""
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(
        TraceFormatError, match=r"t\.jsonl: not a UTF-8 text file \(invalid start byte\)$"
    ):
        load_jsonl(path)


# --------------------------------------------------------------------------- CallInfo helpers


def test_token_helpers_read_token_buffers_only() -> None:
    """§9: token sizes count SECBUFFER_TOKEN buffers (attribute bits ignored), nothing else."""
    desc = SecBufferDesc(
        [
            SecBuffer.of(SECBUFFER_TOKEN, b"abc"),
            SecBuffer.of(SECBUFFER_ALERT, b"zz"),
            SecBuffer.of(SECBUFFER_TOKEN | SECBUFFER_READONLY, b"de"),
            SecBuffer(SECBUFFER_EMPTY),
        ]
    )
    assert token_bytes(desc) == b"abcde"
    assert token_length(desc) == 5
    assert token_bytes(None) == b""
    assert token_length(None) is None


def test_side_for_credential_use() -> None:
    """§9: outbound credentials are clients, inbound ones servers, both have no single side."""
    assert side_for_credential_use(SECPKG_CRED_OUTBOUND) == "client"
    assert side_for_credential_use(SECPKG_CRED_INBOUND) == "server"
    assert side_for_credential_use(SECPKG_CRED_BOTH) is None
    assert repr(CallInfo(ISC, 3, side="client")) == (
        "<CallInfo SspiInitializeSecurityContextAsync actx=3 side=client package=None tag=None>"
    )
