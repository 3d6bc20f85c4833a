"""The runtime side of fault plans (SPEC §9): per-call decisions and output-token transforms.

A :class:`FaultDecider` is compiled once from a validated :class:`~._faults.FaultPlan` and then asked,
for every queued call, which actions apply. It is plain Python (no pydantic on the hot path), runs
on the event loop thread only, and is deterministic: each rule has its own counter and its own
``random.Random``, seeded from the plan's seed and the rule's index, so the same plan and seed give
the same decisions for the same sequence of calls — whatever other rules there are, and whatever
time it is.

How several matching rules combine into one :class:`Decision`:

* ``fail`` at queue time: the first such rule (plan order) wins and nothing else matters — the call
  is never queued (A4);
* ``stall`` beats everything that follows queueing (delay, eager, fail at completion);
* ``fail`` at completion: the first such rule wins; delays still apply before it;
* ``delay``: the delays add up;
* ``eager`` applies only when the total delay is 0 (a delayed call cannot complete before its
  queueing coroutine returns);
* ``corrupt`` and ``truncate`` apply to the whole output token in plan order, then the first
  ``split`` cuts the result into chunks.

The token transforms are pure functions of their inputs (:func:`corrupt_token`,
:func:`truncate_token`, :func:`split_token`), usable and testable on their own.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from ._callinfo import ASYNC_FUNCTIONS
from ._faults import (
    CorruptAction,
    DelayAction,
    EagerAction,
    FailAction,
    FaultPlan,
    FaultRule,
    SplitAction,
    StallAction,
    TruncateAction,
    package_key,
)

__all__ = (
    "Decision",
    "FaultDecider",
    "TokenFault",
    "corrupt_token",
    "split_token",
    "truncate_token",
)


# --------------------------------------------------------------------------- pure transforms


def corrupt_token(token: bytes, seed: int, *, count: int = 1, start: int = 0) -> bytes:
    """``token`` with ``count`` bytes at positions ``>= start`` changed (each XORed with a non-zero
    value, so every chosen byte really changes). Positions and values follow from ``seed`` alone.
    Fewer bytes change when fewer are available; a token no longer than ``start`` is returned as
    is."""
    available = len(token) - start
    if available <= 0:
        return token
    rng = random.Random(seed)
    out = bytearray(token)
    for position in rng.sample(range(start, len(token)), min(count, available)):
        out[position] ^= rng.randrange(1, 256)
    return bytes(out)


def truncate_token(token: bytes, length: int) -> bytes:
    """The first ``length`` bytes of ``token`` (all of it when it is shorter)."""
    return token[:length]


def split_token(
    token: bytes, *, size: int | None = None, parts: int | None = None
) -> tuple[bytes, ...]:
    """``token`` cut into chunks of ``size`` bytes (the last may be shorter), or into ``parts``
    chunks whose lengths differ by at most one (longer ones first; never an empty chunk, so fewer
    parts for a short token). An empty token gives one empty chunk. The chunks always join back
    into ``token``.

    Raises:
        ValueError: not exactly one of ``size`` and ``parts``, or one of them below 1.
    """
    if (size is None) == (parts is None):
        raise ValueError("split_token needs exactly one of size= and parts=")
    if not token:
        return (token,)
    if size is not None:
        if size < 1:
            raise ValueError(f"size must be at least 1, not {size}")
        return tuple(token[i : i + size] for i in range(0, len(token), size))
    assert parts is not None
    if parts < 1:
        raise ValueError(f"parts must be at least 1, not {parts}")
    parts = min(parts, len(token))
    base, longer = divmod(len(token), parts)
    chunks = []
    offset = 0
    for index in range(parts):
        length = base + (1 if index < longer else 0)
        chunks.append(token[offset : offset + length])
        offset += length
    return tuple(chunks)


# --------------------------------------------------------------------------- decisions


@dataclass(frozen=True, slots=True)
class TokenFault:
    """One output-token action with the seed it drew for this call (``corrupt`` only)."""

    action: CorruptAction | TruncateAction | SplitAction
    seed: int = 0


@dataclass(slots=True)
class Decision:
    """What a fault plan does to one call (see the module docstring for how rules combine).

    Attributes:
        fail_at_queue: the status the queueing coroutine returns instead of queueing, or None.
        stall: the call stays pending until the emulator shuts down.
        delay: seconds to wait before the work (plan seconds: multiply by ``time_scale``).
        eager: run the work before the queueing coroutine returns.
        fail_at_completion: complete with this status without running the work, or None.
        token_faults: output-token transforms, in plan order.
        rules: indexes of the rules that fired, in plan order.
        labels: a readable description per fired rule (for traces and diagrams).
    """

    fail_at_queue: int | None = None
    stall: bool = False
    delay: float = 0.0
    eager: bool = False
    fail_at_completion: int | None = None
    token_faults: tuple[TokenFault, ...] = ()
    rules: tuple[int, ...] = ()
    labels: tuple[str, ...] = field(default=())

    def transform_token(self, token: bytes) -> tuple[bytes, ...]:
        """The output token after this decision's token faults: one chunk unless split."""
        split: SplitAction | None = None
        for fault in self.token_faults:
            action = fault.action
            if isinstance(action, CorruptAction):
                token = corrupt_token(token, fault.seed, count=action.count, start=action.start)
            elif isinstance(action, TruncateAction):
                token = truncate_token(token, action.length)
            elif split is None:
                split = action
        if split is None:
            return (token,)
        return split_token(token, size=split.size, parts=split.parts)


class _RuleState:
    """A compiled rule: its filters as plain values, its counter and its random source."""

    __slots__ = (
        "action",
        "fired",
        "index",
        "label",
        "matched",
        "nth",
        "package",
        "rng",
        "rule",
        "side",
        "tag",
    )

    def __init__(self, index: int, rule: FaultRule, seed: int) -> None:
        self.index = index
        self.rule = rule
        self.package = None if rule.package is None else package_key(rule.package)
        self.side = rule.side
        self.tag = rule.tag
        self.nth = rule.nth
        self.action = rule.action
        self.label = rule.describe()
        self.rng = random.Random(seed)
        self.matched = 0
        self.fired = 0


class FaultDecider:
    """Decides, call by call, what a :class:`~._faults.FaultPlan` does (SPEC §9).

    Deterministic for a given plan: rule ``i`` draws from ``random.Random`` seeded with the
    ``i``-th 64-bit value of ``random.Random(plan.seed)``, and counts its own matching calls.
    Not thread-safe: the emulator calls :meth:`decide` on the event loop, at queue time.
    """

    __slots__ = ("_by_function", "_rules", "_wildcard", "plan")

    def __init__(self, plan: FaultPlan) -> None:
        if not isinstance(plan, FaultPlan):
            raise TypeError(f"plan must be a FaultPlan, not {type(plan).__name__}")
        self.plan = plan
        seeds = random.Random(plan.seed)
        self._rules = tuple(
            _RuleState(index, rule, seeds.getrandbits(64)) for index, rule in enumerate(plan.rules)
        )
        # Candidate rules per canonical function name, in plan order (a rule without a function
        # filter is a candidate for every call).
        self._by_function = {
            function: tuple(s for s in self._rules if s.rule.function in (None, function))
            for function in ASYNC_FUNCTIONS
        }
        self._wildcard = tuple(s for s in self._rules if s.rule.function is None)

    def decide(
        self, function: str, package: str | None, side: str | None, tag: str | None
    ) -> Decision | None:
        """The decision for one call, or ``None`` when no rule fires.

        Args:
            function: the canonical ``Sspi…Async`` name (:data:`~._callinfo.ASYNC_FUNCTIONS`).
            package: the package name (any case), or ``None`` when unknown — then rules that
                filter on a package do not match.
            side: ``"client"``, ``"server"`` or ``None`` (likewise).
            tag: the async context's tag, or ``None``.

        Every rule whose filters match counts the call, whether or not it fires (``nth``).
        """
        key = None if package is None else package_key(package)
        fired: list[_RuleState] = []
        for state in self._by_function.get(function, self._wildcard):
            if (
                (state.package is not None and state.package != key)
                or (state.side is not None and state.side != side)
                or (state.tag is not None and state.tag != tag)
            ):
                continue
            state.matched += 1
            if state.nth is None or state.nth == state.matched:
                state.fired += 1
                fired.append(state)
        return self._combine(fired) if fired else None

    @staticmethod
    def _combine(fired: list[_RuleState]) -> Decision:
        decision = Decision()
        token_faults: list[TokenFault] = []
        labels: list[str] = []
        for state in fired:
            action = state.action
            label = state.label
            if isinstance(action, FailAction):
                if action.at == "queue":
                    if decision.fail_at_queue is None:
                        decision.fail_at_queue = action.status
                elif decision.fail_at_completion is None:
                    decision.fail_at_completion = action.status
            elif isinstance(action, DelayAction):
                seconds = action.seconds
                if isinstance(seconds, tuple):
                    drawn = state.rng.uniform(*seconds)
                    decision.delay += drawn
                    label = f"{label} (drew {drawn:.3f} s)"
                else:
                    decision.delay += seconds
            elif isinstance(action, StallAction):
                decision.stall = True
            elif isinstance(action, EagerAction):
                decision.eager = True
            elif isinstance(action, CorruptAction):
                token_faults.append(TokenFault(action, state.rng.getrandbits(64)))
            else:
                token_faults.append(TokenFault(action))
            labels.append(label)
        if decision.delay > 0 or decision.stall:
            decision.eager = False
        decision.token_faults = tuple(token_faults)
        decision.rules = tuple(state.index for state in fired)
        decision.labels = tuple(labels)
        return decision

    def statistics(self) -> list[dict[str, object]]:
        """Per rule, in plan order: its index, name, how many calls matched its filters and how
        many times it fired (to spot a rule that never applied)."""
        return [
            {"rule": s.index, "name": s.rule.name, "matched": s.matched, "fired": s.fired}
            for s in self._rules
        ]
