"""The emulator's one hook object for fault plans and traces (SPEC §9).

An emulator holds ``_observer: CallObserver | None``; it is ``None`` unless a fault plan or a trace
is active, so each hook point in the emulator costs one attribute check when neither is. The
observer composes a :class:`~._fault_decider.FaultDecider` and a :class:`~._trace.TraceRecorder`
(either may be absent) and is told about the four moments of a call (SPEC §3): queue, output
token, completion, callback. Everything runs on the event loop thread.
"""

from __future__ import annotations

import dataclasses

from .._status import SecurityStatus
from ..packages import StepResult
from ._callinfo import CallInfo
from ._fault_decider import Decision, FaultDecider
from ._faults import FaultPlan
from ._trace import TraceRecorder

__all__ = ("CallObserver",)


class CallObserver:
    """Applies a fault plan and records a trace for the calls of one emulator.

    Args:
        faults: the fault plan, or ``None``.
        recorder: the trace recorder, or ``None``.
    """

    __slots__ = ("decider", "recorder")

    def __init__(
        self, *, faults: FaultPlan | None = None, recorder: TraceRecorder | None = None
    ) -> None:
        self.decider = None if faults is None else FaultDecider(faults)
        self.recorder = recorder

    @property
    def idle(self) -> bool:
        """Neither a plan nor a recorder: the emulator may drop the observer."""
        return self.decider is None and self.recorder is None

    def set_faults(self, plan: FaultPlan | None) -> None:
        """Swap the fault plan at run time (rule counters and random sources start afresh);
        ``None`` removes it. Calls already queued keep the decision they got."""
        self.decider = None if plan is None else FaultDecider(plan)

    def on_queue(self, info: CallInfo) -> Decision | None:
        """At queue time, after the A4 checks passed: decide (kept in ``info.decision``) and record
        the ``queued`` event with the status the queueing coroutine will return —
        ``decision.fail_at_queue`` when set (then the emulator queues nothing), else ``SEC_E_OK``."""
        decision = None
        if self.decider is not None:
            decision = info.decision = self.decider.decide(
                info.function, info.package, info.side, info.tag
            )
        if self.recorder is not None:
            failed = None if decision is None else decision.fail_at_queue
            self.recorder.queued(info, SecurityStatus.SEC_E_OK if failed is None else failed)
        return decision

    def on_refused(self, info: CallInfo, status: int) -> None:
        """A call refused by the A4 checks at queue time: recorded as a ``queued`` event with the
        refusal status (and no completion). The fault plan is not consulted: a refused call is
        not queued, so it gets no faults and does not count for a rule's ``nth``."""
        if self.recorder is not None:
            self.recorder.queued(info, status)

    @staticmethod
    def on_output(info: CallInfo, result: StepResult) -> StepResult:
        """Between the package step and writing the out-parameters: the step's output token after
        the call's token faults (corrupt, truncate; a split keeps the bytes, and its chunks are in
        ``info.token_chunks``, left ``None`` when the token did not need cutting). Returns
        ``result`` itself when there is nothing to do."""
        decision = info.decision
        if decision is None or not decision.token_faults:
            return result
        chunks = decision.transform_token(result.output)
        info.token_chunks = chunks if len(chunks) > 1 else None
        return dataclasses.replace(result, output=b"".join(chunks))

    def on_complete(self, info: CallInfo, status: int) -> None:
        """After the out-parameters and the status were written (A6)."""
        if self.recorder is not None:
            self.recorder.completed(info, status)

    def on_callback(self, info: CallInfo, status: int) -> None:
        """When the notify callback is dispatched, before it runs."""
        if self.recorder is not None:
            self.recorder.callback(info, status)
