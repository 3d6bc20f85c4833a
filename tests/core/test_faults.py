"""SPEC §9 fault plans: the model (validation and its messages, JSON/TOML/file loading), the
decider (matching by each field, nth counting, how rules combine, determinism) and the pure
output-token transforms."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sspi_async._core._callinfo import ASYNC_FUNCTIONS, canonical_function
from sspi_async._core._config import ConfigurationError
from sspi_async._core._fault_decider import (
    Decision,
    FaultDecider,
    corrupt_token,
    split_token,
    truncate_token,
)
from sspi_async._core._faults import (
    CorruptAction,
    DelayAction,
    FailAction,
    FaultPlan,
    FaultPlanError,
    FaultRule,
    SplitAction,
    StallAction,
    _toml_module,
)
from sspi_async._status import SecurityStatus

S = SecurityStatus
ISC = "SspiInitializeSecurityContextAsync"
ASC = "SspiAcceptSecurityContextAsync"
ACH = "SspiAcquireCredentialsHandleAsync"

TOML_PLAN = """
seed = 7

[[rules]]
name = "slow server"
function = "AcceptSecurityContext"
side = "server"
action = { kind = "delay", seconds = [0.1, 0.5] }

[[rules]]
function = "ISC"
nth = 2
action = { kind = "fail", status = "SEC_E_LOGON_DENIED" }

[[rules]]
tag = "stuck"
action = "stall"
"""


def plan(*rules: dict[str, Any], seed: int = 0) -> FaultPlan:
    return FaultPlan.from_data({"seed": seed, "rules": list(rules)})


# --------------------------------------------------------------------------- the model


def test_a_plan_from_dicts_normalizes_names_and_values() -> None:
    """§9: function spellings become the canonical Sspi…Async name, status names their value,
    a bare action string a kind, nth "every" None."""
    p = plan(
        {"function": "InitializeSecurityContextW", "action": "stall"},
        {
            "function": "asc",
            "nth": "every",
            "action": {"kind": "fail", "status": "sec_e_logon_denied"},
        },
        {"action": {"kind": "fail", "status": -2146893048, "at": "queue"}},
    )
    assert [r.function for r in p.rules] == [ISC, ASC, None]
    assert p.rules[0].action == StallAction()
    assert p.rules[1].nth is None
    assert p.rules[1].action == FailAction(status=S.SEC_E_LOGON_DENIED)
    assert p.rules[2].action == FailAction(status=S.SEC_E_INVALID_TOKEN, at="queue")


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("SspiAcceptSecurityContextAsync", ASC),
        ("AcceptSecurityContext", ASC),
        ("SspiInitializeSecurityContextAsyncW", ISC),
        ("InitializeSecurityContextA", ISC),
        ("ach", ACH),
        ("DeleteSecurityContext", "SspiDeleteSecurityContextAsync"),
        ("FCH", "SspiFreeCredentialsHandleAsync"),
    ],
)
def test_function_spellings(name: str, canonical: str) -> None:
    """§9: a rule's function may be any spelling of a queued operation (SPEC §3 aliases)."""
    assert canonical_function(name) == canonical


def test_a_plan_is_frozen() -> None:
    """DESIGN: configuration models are immutable once validated."""
    p = plan({"action": "eager"})
    with pytest.raises(ValueError, match="frozen"):
        p.seed = 3  # type: ignore[misc]
    assert isinstance(p.rules, tuple)


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (
            [
                {"action": "eager"},
                {"action": "stall"},
                {"action": {"kind": "fail", "status": "SEC_E_FOO"}},
            ],
            "rules[2].action.status: unknown status 'SEC_E_FOO'; use a winerror.h name such as "
            "'SEC_E_LOGON_DENIED' or a number",
        ),
        (
            [{"action": {"kind": "fail", "status": "SEC_I_CONTINUE_NEEDED"}}],
            "rules[0].action.status: SEC_I_CONTINUE_NEEDED is not an error status; a fail action "
            "needs SEC_E_*",
        ),
        (
            [{"action": {"kind": "fail", "status": 1 << 40}}],
            "rules[0].action.status: status 1099511627776 is not a 32-bit SECURITY_STATUS",
        ),
        (
            [{"action": {"kind": "fail", "status": True}}],
            "rules[0].action.status: status must be a status name or a number, not True",
        ),
        (
            [{"action": {"kind": "fail", "status": "SEC_E_OK", "at": "later"}}],
            "rules[0].action.status: SEC_E_OK is not an error status; a fail action needs SEC_E_*; "
            "rules[0].action.at: Input should be 'queue' or 'completion'",
        ),
        (
            [{"function": "Frobnicate", "action": "stall"}],
            "rules[0].function: unknown function 'Frobnicate'; use a queued operation by its "
            "Sspi…Async name (e.g. SspiAcceptSecurityContextAsync), its classic name "
            "(AcceptSecurityContext) or ACH, ISC, ASC, DSC, FCH",
        ),
        (
            [{"side": "middle", "action": "stall"}],
            "rules[0].side: Input should be 'client' or 'server'",
        ),
        (
            [{"nth": 0, "action": "stall"}],
            "rules[0].nth: Input should be greater than or equal to 1",
        ),
        (
            [{"package": "", "action": "stall"}],
            "rules[0].package: String should have at least 1 character",
        ),
        (
            [{"action": "explode"}],
            "rules[0].action: Input tag 'explode' found using 'kind' does not match",
        ),
        ([{"function": "ISC"}], "rules[0].action: Field required"),
        ([{"action": "stall", "when": 3}], "rules[0].when: Extra inputs are not permitted"),
        (
            [{"action": {"kind": "delay", "seconds": [0.5, 0.1]}}],
            "rules[0].action.seconds: the range [0.5, 0.1] has low > high",
        ),
        (
            [{"action": {"kind": "delay", "seconds": [1, 2, 3]}}],
            "rules[0].action.seconds: a range must be [low, high], got 3 values",
        ),
        (
            [{"action": {"kind": "delay", "seconds": -1}}],
            "rules[0].action.seconds: seconds must be from 0 to 600, not -1 (use a stall to wait forever)",
        ),
        (
            [{"action": {"kind": "delay", "seconds": "soon"}}],
            "rules[0].action.seconds: seconds must be a number, not 'soon'",
        ),
        (
            [{"action": {"kind": "split"}}],
            "rules[0].action: give exactly one of size (bytes per chunk) and parts (chunk count)",
        ),
        (
            [{"action": {"kind": "split", "size": 4, "parts": 2}}],
            "rules[0].action: give exactly one of size",
        ),
        ([{"action": {"kind": "truncate"}}], "rules[0].action.length: Field required"),
        (
            [{"action": {"kind": "corrupt", "count": 0}}],
            "rules[0].action.count: Input should be greater than or equal to 1",
        ),
    ],
)
def test_bad_plans_name_the_rule_and_the_field(rules: list[dict[str, Any]], message: str) -> None:
    """§9: an invalid plan is rejected with a message that names the rule index and the field."""
    with pytest.raises(FaultPlanError) as caught:
        FaultPlan.from_data({"rules": rules})
    assert str(caught.value).startswith("invalid fault plan: " + message)
    assert isinstance(caught.value, ConfigurationError)
    assert isinstance(caught.value, ValueError)


def test_bad_plan_problems_are_structured() -> None:
    """§9: FaultPlanError.problems lists (location, problem) pairs, one per mistake."""
    with pytest.raises(FaultPlanError) as caught:
        plan({"action": "stall"}, {"side": "x", "action": {"kind": "truncate", "length": -1}})
    assert [where for where, _ in caught.value.problems] == [
        "rules[1].side",
        "rules[1].action.length",
    ]


def test_building_in_python_raises_our_error() -> None:
    """DESIGN: models built in Python raise FaultPlanError (no pydantic import needed), naming
    the field; inside a plan the nested rule's problems keep their full location."""
    with pytest.raises(FaultPlanError, match=r"^invalid FailAction: status: unknown status 'NOPE'"):
        FailAction(status="NOPE")
    with pytest.raises(
        FaultPlanError, match=r"^invalid FaultPlan: rules\[1\]\.action\.status: unknown"
    ):
        FaultPlan(
            rules=[FaultRule(action=StallAction()), {"action": {"kind": "fail", "status": "NOPE"}}]
        )
    with pytest.raises(
        FaultPlanError, match=r"^invalid FaultPlan: seed: Input should be a valid integer"
    ):
        FaultPlan(seed="x")


def test_plan_from_json() -> None:
    """§9: FaultPlan.from_json reads a plan; text that is not JSON gets a clear error."""
    p = FaultPlan.from_json('{"seed": 3, "rules": [{"function": "ASC", "action": "eager"}]}')
    assert p.seed == 3
    assert p.rules[0].function == ASC
    with pytest.raises(FaultPlanError, match=r"^invalid fault plan: not JSON: "):
        FaultPlan.from_json("{seed: 3")


def test_plan_from_toml() -> None:
    """§9: FaultPlan.from_toml reads [[rules]] tables with inline action tables."""
    p = FaultPlan.from_toml(TOML_PLAN)
    assert p.seed == 7
    assert [r.function for r in p.rules] == [ASC, ISC, None]
    assert p.rules[0].action == DelayAction(seconds=(0.1, 0.5))
    assert p.rules[1].nth == 2
    assert p.rules[2].action == StallAction()
    assert [r.describe() for r in p.rules] == [
        "slow server: delay 0.1–0.5 s",
        "fail SEC_E_LOGON_DENIED at completion",
        "stall",
    ]
    with pytest.raises(FaultPlanError, match=r"^invalid fault plan: not TOML: "):
        FaultPlan.from_toml("seed = = 3")


def test_toml_on_python_310_without_tomli_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    """§9: on Python 3.10 TOML needs tomli; without it the error says so (and suggests JSON)."""
    monkeypatch.setitem(sys.modules, "tomli", None)  # makes `import tomli` fail
    with pytest.raises(
        FaultPlanError,
        match=r"^reading a TOML fault plan needs Python 3\.11\+ \(tomllib\) or, on Python 3\.10, "
        r"'pip install tomli'; or write the plan as JSON$",
    ):
        _toml_module((3, 10))
    fake = types.ModuleType("tomli")
    monkeypatch.setitem(sys.modules, "tomli", fake)
    assert _toml_module((3, 10)) is fake


def test_load_by_suffix(tmp_path: Path) -> None:
    """§9: FaultPlan.load reads .json and .toml files; errors start with the path."""
    (tmp_path / "plan.toml").write_text(TOML_PLAN)
    (tmp_path / "plan.json").write_text('{"rules": [{"action": "stall"}]}')
    (tmp_path / "bad.json").write_text('{"rules": [{"action": "boom"}]}')
    (tmp_path / "plan.yaml").write_text("rules: []")
    assert FaultPlan.load(tmp_path / "plan.toml").seed == 7
    assert FaultPlan.load(str(tmp_path / "plan.json")).rules[0].action == StallAction()
    with pytest.raises(
        FaultPlanError, match=r"bad\.json: invalid fault plan: rules\[0\]\.action: Input tag 'boom'"
    ) as caught:
        FaultPlan.load(tmp_path / "bad.json")
    assert caught.value.problems[0][0] == "rules[0].action"
    with pytest.raises(
        FaultPlanError,
        match=r"plan\.yaml: a fault plan file must end in \.json or \.toml, not '\.yaml'$",
    ):
        FaultPlan.load(tmp_path / "plan.yaml")
    with pytest.raises(FileNotFoundError):
        FaultPlan.load(tmp_path / "missing.json")


# --------------------------------------------------------------------------- matching


def fired(
    decider: FaultDecider, *calls: tuple[str, str | None, str | None, str | None]
) -> list[bool]:
    return [decider.decide(*call) is not None for call in calls]


def test_match_by_function() -> None:
    """§9: a function filter matches that operation only; no filter matches every call."""
    d = FaultDecider(plan({"function": "ASC", "action": "eager"}))
    assert fired(d, (ASC, "SimTLS", "server", None), (ISC, "SimTLS", "client", None)) == [
        True,
        False,
    ]
    d = FaultDecider(plan({"action": "eager"}))
    assert fired(d, *((f, None, None, None) for f in ASYNC_FUNCTIONS)) == [True] * 5
    assert fired(d, ("NotAQueuedCall", None, None, None)) == [True]


def test_match_by_package_is_case_insensitive_and_knows_unisp() -> None:
    """§9, §8: package names compare case-insensitively; UNISP_NAME means Schannel; a call whose
    package is unknown does not match a package filter."""
    d = FaultDecider(plan({"package": "schannel", "action": "eager"}))
    assert fired(
        d, (ISC, "Schannel", None, None), (ISC, "SimTLS", None, None), (ISC, None, None, None)
    ) == [True, False, False]
    d = FaultDecider(
        plan({"package": "Microsoft Unified Security Protocol Provider", "action": "eager"})
    )
    assert fired(d, (ISC, "Schannel", None, None)) == [True]


def test_match_by_side_and_tag() -> None:
    """§9: side and tag filters match exactly; a call without one does not match."""
    d = FaultDecider(plan({"side": "server", "action": "eager"}, {"tag": "t1", "action": "stall"}))
    assert d.decide(ACH, None, "server", None) == Decision(
        eager=True, rules=(0,), labels=("eager",)
    )
    assert d.decide(ACH, None, "client", "t1") == Decision(
        stall=True, rules=(1,), labels=("stall",)
    )
    assert d.decide(ACH, None, None, "t2") is None


def test_nth_counts_matching_calls_per_rule() -> None:
    """§9: nth fires on the n-th call that passes the rule's filters (1-based), counted per rule;
    calls that do not pass are not counted."""
    d = FaultDecider(
        plan({"function": "ISC", "nth": 2, "action": "eager"}, {"nth": 3, "action": "stall"})
    )
    calls = [
        (ASC, None, None, None),
        (ISC, None, None, None),
        (ASC, None, None, None),
        (ISC, None, None, None),
        (ISC, None, None, None),
    ]
    decisions = [d.decide(*c) for c in calls]
    assert [x.rules if x else () for x in decisions] == [(), (), (1,), (0,), ()]
    assert d.statistics() == [
        {"rule": 0, "name": None, "matched": 3, "fired": 1},
        {"rule": 1, "name": None, "matched": 5, "fired": 1},
    ]


# --------------------------------------------------------------------------- combining


def test_rules_combine_in_plan_order() -> None:
    """§9: delays add up; the first fail of each kind wins; token faults keep plan order; every
    fired rule is labelled."""
    d = FaultDecider(
        plan(
            {"action": {"kind": "delay", "seconds": 0.25}},
            {"action": {"kind": "fail", "status": "SEC_E_LOGON_DENIED"}},
            {"action": {"kind": "delay", "seconds": 0.5}},
            {"action": {"kind": "fail", "status": "SEC_E_INVALID_TOKEN"}},
            {"name": "cut", "action": {"kind": "truncate", "length": 4}},
            {"action": {"kind": "split", "parts": 2}},
            {"action": "eager"},
        )
    )
    decision = d.decide(ISC, None, None, None)
    assert decision is not None
    assert decision.delay == 0.75
    assert decision.fail_at_completion == S.SEC_E_LOGON_DENIED
    assert decision.fail_at_queue is None
    assert decision.eager is False  # a delayed call cannot complete before queueing returns
    assert [type(f.action).__name__ for f in decision.token_faults] == [
        "TruncateAction",
        "SplitAction",
    ]
    assert decision.rules == (0, 1, 2, 3, 4, 5, 6)
    assert decision.labels == (
        "delay 0.25 s",
        "fail SEC_E_LOGON_DENIED at completion",
        "delay 0.5 s",
        "fail SEC_E_INVALID_TOKEN at completion",
        "cut: truncate to 4 bytes",
        "split into 2 parts",
        "eager",
    )
    assert decision.transform_token(b"abcdefgh") == (b"ab", b"cd")


def test_queue_failure_and_stall() -> None:
    """§9: the first queue-time failure wins; stall turns eager off."""
    d = FaultDecider(
        plan(
            {"action": {"kind": "fail", "status": "SEC_E_INVALID_HANDLE", "at": "queue"}},
            {"action": {"kind": "fail", "status": "SEC_E_INTERNAL_ERROR", "at": "queue"}},
            {"action": "stall"},
            {"action": "eager"},
        )
    )
    decision = d.decide(DSC := "SspiDeleteSecurityContextAsync", None, None, None)
    assert decision is not None, DSC
    assert decision.fail_at_queue == S.SEC_E_INVALID_HANDLE
    assert decision.stall is True
    assert decision.eager is False


def test_eager_alone_stays_eager() -> None:
    """§9: an eager rule without delay or stall asks for eager completion."""
    decision = FaultDecider(plan({"action": "eager"})).decide(ISC, None, None, None)
    assert decision is not None
    assert decision.eager is True


def test_random_delay_is_seeded_and_in_range() -> None:
    """§9: a random delay is drawn from the plan's seed, within [low, high], and labelled with the
    value drawn; another seed draws other values."""

    def delays(seed: int) -> list[float]:
        d = FaultDecider(plan({"action": {"kind": "delay", "seconds": [0.1, 0.2]}}, seed=seed))
        out = []
        for _ in range(20):
            decision = d.decide(ISC, None, None, None)
            assert decision is not None
            assert decision.labels[0] == f"delay 0.1–0.2 s (drew {decision.delay:.3f} s)"
            out.append(decision.delay)
        return out

    first = delays(1)
    assert first == delays(1)
    assert all(0.1 <= x <= 0.2 for x in first)
    assert first != delays(2)


def test_a_rule_draws_the_same_values_whatever_other_rules_there_are() -> None:
    """§9: each rule has its own random source, so adding a rule elsewhere in the plan does not
    change the values an existing rule draws (only its position's seed matters)."""
    rule = {"function": "ISC", "action": {"kind": "corrupt"}}
    alone = FaultDecider(plan(rule, seed=5))
    with_other = FaultDecider(
        plan(rule, {"function": "ASC", "action": {"kind": "delay", "seconds": [0, 1]}}, seed=5)
    )
    for _ in range(5):
        a = alone.decide(ISC, None, None, None)
        b = with_other.decide(ISC, None, None, None)
        assert a is not None
        assert b is not None
        assert a.token_faults == b.token_faults
        with_other.decide(ASC, None, None, None)


def test_decider_needs_a_plan() -> None:
    """A decider built from something else says what it needs."""
    with pytest.raises(TypeError, match=r"^plan must be a FaultPlan, not dict$"):
        FaultDecider({"rules": []})  # type: ignore[arg-type]


# --------------------------------------------------------------------------- determinism (hypothesis)

_FUNCTIONS = st.sampled_from([*ASYNC_FUNCTIONS[:3], None])
_ACTIONS = st.sampled_from(
    [
        "eager",
        "stall",
        {"kind": "delay", "seconds": 0.1},
        {"kind": "delay", "seconds": [0.0, 1.0]},
        {"kind": "fail", "status": "SEC_E_LOGON_DENIED"},
        {"kind": "fail", "status": "SEC_E_INVALID_TOKEN", "at": "queue"},
        {"kind": "corrupt", "count": 2},
        {"kind": "split", "size": 3},
    ]
)
_RULES = st.fixed_dictionaries(
    {"action": _ACTIONS},
    optional={
        "function": _FUNCTIONS.filter(lambda f: f is not None),
        "package": st.sampled_from(["SimTLS", "Schannel"]),
        "side": st.sampled_from(["client", "server"]),
        "tag": st.sampled_from(["a", "b"]),
        "nth": st.integers(1, 4),
    },
)
_CALLS = st.lists(
    st.tuples(
        st.sampled_from(ASYNC_FUNCTIONS[:3]),
        st.sampled_from(["SimTLS", "Schannel", None]),
        st.sampled_from(["client", "server", None]),
        st.sampled_from(["a", "b", None]),
    ),
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(rules=st.lists(_RULES, max_size=5), seed=st.integers(0, 2**32), calls=_CALLS)
def test_same_plan_and_seed_same_decisions(
    rules: list[dict[str, Any]], seed: int, calls: list[Any]
) -> None:
    """§9: the same plan and seed give the same decisions, call for call."""
    p = plan(*rules, seed=seed)
    first, second = FaultDecider(p), FaultDecider(p)
    assert [first.decide(*c) for c in calls] == [second.decide(*c) for c in calls]


@settings(max_examples=60, deadline=None)
@given(rule=_RULES, calls=_CALLS)
def test_nth_fires_exactly_on_the_nth_match(rule: dict[str, Any], calls: list[Any]) -> None:
    """§9: a rule fires on every matching call without nth, and only on the nth one with it."""
    p = plan(rule)
    d = FaultDecider(p)
    r = p.rules[0]
    matches = [
        (r.function in (None, f))
        and (r.package is None or (pkg is not None and r.package.lower() == pkg.lower()))
        and (r.side in (None, side))
        and (r.tag in (None, tag))
        for f, pkg, side, tag in calls
    ]
    expected = []
    count = 0
    for m in matches:
        count += m
        expected.append(m and (r.nth is None or count == r.nth))
    assert [d.decide(*c) is not None for c in calls] == expected


# --------------------------------------------------------------------------- token transforms


def test_corrupt_flips_count_bytes_after_start_deterministically() -> None:
    """§9: corrupt changes exactly `count` bytes at positions >= start, the same way for the same
    seed and differently for another one."""
    token = bytes(range(64))
    out = corrupt_token(token, 42, count=3, start=5)
    changed = [i for i in range(64) if out[i] != token[i]]
    assert len(changed) == 3
    assert min(changed) >= 5
    assert corrupt_token(token, 42, count=3, start=5) == out
    assert corrupt_token(token, 43, count=3, start=5) != out


def test_corrupt_edges() -> None:
    """§9: corrupt changes every available byte when count exceeds them, and nothing when the
    token is no longer than start."""
    assert corrupt_token(b"abcdef", 1, count=1, start=6) == b"abcdef"
    assert corrupt_token(b"", 1) == b""
    out = corrupt_token(b"abcdef", 1, count=100, start=2)
    assert out[:2] == b"ab"
    assert all(a != b for a, b in zip(out[2:], b"cdef", strict=True))


def test_truncate() -> None:
    """§9: truncate keeps the first N bytes."""
    assert truncate_token(b"abcdef", 4) == b"abcd"
    assert truncate_token(b"ab", 4) == b"ab"
    assert truncate_token(b"ab", 0) == b""


def test_split() -> None:
    """§9: split cuts by size or into near-equal parts; an empty token is one empty chunk."""
    assert split_token(b"abcdefg", size=3) == (b"abc", b"def", b"g")
    assert split_token(b"abcdefg", parts=3) == (b"abc", b"de", b"fg")
    assert split_token(b"ab", parts=5) == (b"a", b"b")
    assert split_token(b"", size=2) == (b"",)
    with pytest.raises(ValueError, match=r"^split_token needs exactly one of size= and parts=$"):
        split_token(b"ab")
    with pytest.raises(ValueError, match=r"^size must be at least 1, not 0$"):
        split_token(b"ab", size=0)
    with pytest.raises(ValueError, match=r"^parts must be at least 1, not 0$"):
        split_token(b"ab", parts=0)


@given(token=st.binary(max_size=200), size=st.integers(1, 50), parts=st.integers(1, 50))
def test_split_chunks_join_back(token: bytes, size: int, parts: int) -> None:
    """§9: the chunks of a split always join back into the token, none empty (unless the token is)."""
    for chunks in (split_token(token, size=size), split_token(token, parts=parts)):
        assert b"".join(chunks) == token
        assert all(chunks) or chunks == (b"",)
    by_parts = split_token(token, parts=parts)
    assert max(map(len, by_parts)) - min(map(len, by_parts)) <= 1
    assert all(len(c) <= size for c in split_token(token, size=size))


def test_decision_transform_applies_corrupt_then_truncate_then_first_split() -> None:
    """§9: corrupt and truncate apply in plan order to the whole token, then the first split."""
    d = FaultDecider(
        plan(
            {"action": {"kind": "split", "size": 2}},
            {"action": {"kind": "corrupt", "count": 8}},
            {"action": {"kind": "truncate", "length": 5}},
            {"action": {"kind": "split", "size": 4}},
        )
    )
    decision = d.decide(ASC, None, None, None)
    assert decision is not None
    chunks = decision.transform_token(b"\x00" * 8)
    assert [len(c) for c in chunks] == [2, 2, 1]
    assert all(b != 0 for b in b"".join(chunks))
    assert Decision().transform_token(b"same") == (b"same",)


def test_action_descriptions() -> None:
    """§9: every action describes itself for traces and diagrams."""
    assert CorruptAction().describe() == "corrupt 1 byte"
    assert CorruptAction(count=3, start=5).describe() == "corrupt 3 bytes from 5"
    assert SplitAction(size=16).describe() == "split every 16 bytes"
    assert DelayAction(seconds=0.25).describe() == "delay 0.25 s"
