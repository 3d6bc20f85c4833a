"""Fault plans (SPEC §9): which queued calls to disturb, and how. The pydantic edge.

A :class:`FaultPlan` is configuration: it crosses the user boundary (Python, JSON, TOML), is
validated once, and is then compiled into a plain :class:`~._fault_decider.FaultDecider` that the
emulator consults per call. Every model is frozen and rejects unknown fields.

Matching (all given filters must hold; an absent filter matches anything):

* ``function`` — a queued operation, any spelling (``SspiAcceptSecurityContextAsync``,
  ``AcceptSecurityContext``, ``ASC``; see :func:`~._callinfo.canonical_function`);
* ``package`` — the package name, case-insensitive (``UNISP_NAME`` means Schannel);
* ``side`` — ``"client"`` or ``"server"``;
* ``tag`` — the async context's ``tag``, exactly;
* ``nth`` — the rule fires on the n-th call that passes the filters above (1-based), counted per
  rule; absent (or ``"every"``) means every such call.

Actions (``action = {kind = "...", ...}``; a bare ``"stall"`` or ``"eager"`` is accepted):

* ``delay`` — ``seconds`` fixed, or ``[low, high]`` drawn uniformly from the plan's seed;
  multiplied by ``EmulatorSettings.time_scale``;
* ``fail`` — complete with ``status`` (a name such as ``"SEC_E_LOGON_DENIED"`` or a number; an
  error status) ``at="completion"`` (the call's work does not run: nothing is written) or
  ``at="queue"`` (the queueing coroutine returns it: nothing queued, no callback, A4);
* ``stall`` — the call stays pending until the emulator shuts down (then
  ``SEC_E_SHUTDOWN_IN_PROGRESS``, A15);
* ``eager`` — the work runs before the queueing coroutine returns (as ``completion="eager"``,
  A7, for this call only);
* ``corrupt`` — flip ``count`` bytes of the output token at positions ``>= start``, chosen and
  changed deterministically from the seed;
* ``truncate`` — keep the first ``length`` bytes of the output token;
* ``split`` — cut the output token into chunks of ``size`` bytes, or into ``parts`` chunks.

Invalid plans raise :class:`FaultPlanError` (a ``ConfigurationError``, so a ``ValueError``) with one
``location: problem`` per mistake, e.g. ``rules[2].action.status: unknown status 'SEC_E_FOO'``.

TOML needs :mod:`tomllib` (Python 3.11+) or, on Python 3.10, the ``tomli`` distribution.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .._flags import SCHANNEL_NAME, UNISP_NAME
from .._status import SEC_SUCCESS, SecurityStatus, as_status, from_signed
from ._callinfo import Side, canonical_function
from ._model import ConfigurationError

__all__ = (
    "CorruptAction",
    "DelayAction",
    "EagerAction",
    "FailAction",
    "FaultAction",
    "FaultPlan",
    "FaultPlanError",
    "FaultRule",
    "SplitAction",
    "StallAction",
    "TruncateAction",
    "describe_plan_error",
    "package_key",
    "plan_problems",
)

#: The longest delay a plan may ask for, in seconds (a longer wait is a ``stall``).
MAX_DELAY = 600.0
_ACTION_KINDS = ("delay", "fail", "stall", "eager", "corrupt", "truncate", "split")


class FaultPlanError(ConfigurationError):
    """A fault plan is invalid; the message names each rule and field that is wrong.

    Attributes:
        problems: ``(location, problem)`` pairs, e.g. ``("rules[2].action.status", "unknown
            status 'SEC_E_FOO'…")``; empty when the text could not even be parsed.
    """

    def __init__(self, message: str, problems: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


def _join(prefix: str, where: str) -> str:
    if not where:
        return prefix
    if not prefix or where.startswith("["):
        return prefix + where
    return f"{prefix}.{where}"


def plan_problems(exc: ValidationError) -> tuple[tuple[str, str], ...]:
    """``(location, problem)`` for each error: list indexes as ``[i]``, the action's kind
    (pydantic's union tag) left out, and the problems of a nested model constructed through our
    ``__init__`` (pydantic calls it for nested data) spliced in under their parent's location."""
    found: list[tuple[str, str]] = []
    for err in exc.errors():
        where = ""
        loc = err["loc"]
        for i, item in enumerate(loc):
            if isinstance(item, int):
                where += f"[{item}]"
            elif i > 0 and loc[i - 1] == "action" and item in _ACTION_KINDS:
                continue  # the discriminator tag: the user wrote it as action.kind
            else:
                where = _join(where, str(item))
        nested = err.get("ctx", {}).get("error")
        if isinstance(nested, FaultPlanError) and nested.problems:
            found += [(_join(where, sub), message) for sub, message in nested.problems]
        else:
            found.append((where, err["msg"].removeprefix("Value error, ")))
    return tuple(found)


def describe_plan_error(exc: ValidationError) -> str:
    """``location: problem; location: problem …`` (see :func:`plan_problems`), e.g.
    ``rules[2].action.status: unknown status 'SEC_E_FOO'…``; ``(plan)`` for the plan itself."""
    return "; ".join(f"{where or '(plan)'}: {message}" for where, message in plan_problems(exc))


def _plan_error(prefix: str, exc: ValidationError) -> FaultPlanError:
    problems = plan_problems(exc)
    text = "; ".join(f"{where or '(plan)'}: {message}" for where, message in problems)
    return FaultPlanError(f"{prefix}: {text}", problems)


def package_key(name: str) -> str:
    """How a package name is compared: lower-cased, with ``UNISP_NAME`` folded into Schannel (the
    registry's alias, SPEC §8)."""
    key = name.lower()
    return SCHANNEL_NAME.lower() if key == UNISP_NAME.lower() else key


class _PlanModel(BaseModel):
    """Frozen, no unknown fields; constructing one in Python raises :class:`FaultPlanError`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _plan_error(f"invalid {type(self).__name__}", exc) from exc


# --------------------------------------------------------------------------- actions


class DelayAction(_PlanModel):
    """Wait before the call's work runs: ``seconds`` fixed, or ``(low, high)`` seeded-uniform."""

    kind: Literal["delay"] = "delay"
    seconds: float | tuple[float, float]

    @field_validator("seconds", mode="before")
    @classmethod
    def _seconds(cls, value: object) -> float | tuple[float, float]:
        if isinstance(value, (list, tuple)):
            if len(value) != 2:
                raise ValueError(f"a range must be [low, high], got {len(value)} values")
            low, high = (_seconds_value(v) for v in value)
            if low > high:
                raise ValueError(f"the range [{low:g}, {high:g}] has low > high")
            return (low, high)
        return _seconds_value(value)

    def describe(self) -> str:
        """``delay 0.25 s`` or ``delay 0.1–0.5 s``."""
        if isinstance(self.seconds, tuple):
            return f"delay {self.seconds[0]:g}–{self.seconds[1]:g} s"
        return f"delay {self.seconds:g} s"


def _seconds_value(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"seconds must be a number, not {value!r}")
    if not 0 <= value <= MAX_DELAY:
        raise ValueError(
            f"seconds must be from 0 to {MAX_DELAY:g}, not {value!r} (use a stall to wait forever)"
        )
    return float(value)


class FailAction(_PlanModel):
    """Fail the call with ``status`` at completion (default) or at queue time."""

    kind: Literal["fail"] = "fail"
    status: int
    at: Literal["queue", "completion"] = "completion"

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: object) -> int:
        if isinstance(value, str):
            try:
                status = int(SecurityStatus[value.strip().upper()])
            except KeyError:
                raise ValueError(
                    f"unknown status {value!r}; use a winerror.h name such as "
                    "'SEC_E_LOGON_DENIED' or a number"
                ) from None
        elif isinstance(value, int) and not isinstance(value, bool):
            if not -(1 << 31) <= value < (1 << 32):
                raise ValueError(f"status {value} is not a 32-bit SECURITY_STATUS")
            status = from_signed(value)
        else:
            raise ValueError(f"status must be a status name or a number, not {value!r}")
        if SEC_SUCCESS(status):
            raise ValueError(
                f"{as_status(status)!s} is not an error status; a fail action needs SEC_E_*"
            )
        return status

    def describe(self) -> str:
        """``fail SEC_E_LOGON_DENIED at completion``."""
        return f"fail {as_status(self.status)!s} at {self.at}"


class StallAction(_PlanModel):
    """Never complete: the call stays pending until the emulator shuts down (A15)."""

    kind: Literal["stall"] = "stall"

    def describe(self) -> str:
        """``stall``."""
        return "stall"


class EagerAction(_PlanModel):
    """Run the call's work before the queueing coroutine returns (A7, for this call)."""

    kind: Literal["eager"] = "eager"

    def describe(self) -> str:
        """``eager``."""
        return "eager"


class CorruptAction(_PlanModel):
    """Flip ``count`` bytes of the output token at positions ``>= start`` (``start=5`` spares a TLS
    record header); which bytes, and how, follows from the plan's seed."""

    kind: Literal["corrupt"] = "corrupt"
    count: int = Field(default=1, ge=1, le=1 << 16)
    start: int = Field(default=0, ge=0, le=1 << 24)

    def describe(self) -> str:
        """``corrupt 1 byte`` / ``corrupt 3 bytes from 5``."""
        what = f"corrupt {self.count} byte{'s' if self.count != 1 else ''}"
        return f"{what} from {self.start}" if self.start else what


class TruncateAction(_PlanModel):
    """Keep only the first ``length`` bytes of the output token."""

    kind: Literal["truncate"] = "truncate"
    length: int = Field(ge=0, le=1 << 24)

    def describe(self) -> str:
        """``truncate to 10 bytes``."""
        return f"truncate to {self.length} bytes"


class SplitAction(_PlanModel):
    """Cut the output token into chunks of ``size`` bytes, or into ``parts`` near-equal chunks."""

    kind: Literal["split"] = "split"
    size: int | None = Field(default=None, ge=1, le=1 << 24)
    parts: int | None = Field(default=None, ge=2, le=1 << 16)

    @model_validator(mode="after")
    def _one_of(self) -> SplitAction:
        if (self.size is None) == (self.parts is None):
            raise ValueError("give exactly one of size (bytes per chunk) and parts (chunk count)")
        return self

    def describe(self) -> str:
        """``split into 3 parts`` / ``split every 16 bytes``."""
        return f"split into {self.parts} parts" if self.parts else f"split every {self.size} bytes"


FaultAction = Annotated[
    DelayAction
    | FailAction
    | StallAction
    | EagerAction
    | CorruptAction
    | TruncateAction
    | SplitAction,
    Field(discriminator="kind"),
]


# --------------------------------------------------------------------------- rules and plans


class FaultRule(_PlanModel):
    """Which calls (``function``, ``package``, ``side``, ``tag``, ``nth``) get which ``action``.

    Attributes:
        name: a label shown in traces and diagrams.
        function: a queued operation, stored under its canonical ``Sspi…Async`` name.
        package: the security package (case-insensitive).
        side: ``"client"`` or ``"server"``.
        tag: the async context's ``tag``.
        nth: fire on the n-th matching call only (1-based, per rule); ``None``: every one.
        action: what to do.
    """

    name: str | None = None
    function: str | None = None
    package: str | None = Field(default=None, min_length=1)
    side: Side | None = None
    tag: str | None = None
    nth: int | None = Field(default=None, ge=1)
    action: FaultAction

    @field_validator("function")
    @classmethod
    def _function(cls, value: str | None) -> str | None:
        return None if value is None else canonical_function(value)

    @field_validator("nth", mode="before")
    @classmethod
    def _every(cls, value: object) -> object:
        return None if value == "every" else value

    @field_validator("action", mode="before")
    @classmethod
    def _bare_action(cls, value: object) -> object:
        # `action = "stall"` reads better in TOML than `action = {kind = "stall"}`.
        return {"kind": value} if isinstance(value, str) else value

    def describe(self) -> str:
        """The action's description, prefixed with the rule's name when it has one."""
        text = self.action.describe()
        return f"{self.name}: {text}" if self.name else text


class FaultPlan(_PlanModel):
    """A seeded list of fault rules (SPEC §9). Same plan and same seed: the same run, call for
    call. Every matching rule applies (see :class:`~._fault_decider.Decision` for how they
    combine).

    Build one in Python (``FaultPlan(seed=1, rules=[FaultRule(...)])`` or with dicts), or load it
    with :meth:`from_json`, :meth:`from_toml` or :meth:`load`.
    """

    seed: int = 0
    rules: tuple[FaultRule, ...] = ()

    #: File suffixes :meth:`load` understands.
    SUFFIXES: ClassVar[tuple[str, ...]] = (".json", ".toml")

    @classmethod
    def from_data(cls, data: object) -> FaultPlan:
        """Validate already-parsed data (a dict, e.g. from JSON or TOML).

        Raises:
            FaultPlanError: the data is not a valid plan.
        """
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise _plan_error("invalid fault plan", exc) from exc

    @classmethod
    def from_json(cls, text: str | bytes) -> FaultPlan:
        """A plan from JSON text.

        Raises:
            FaultPlanError: the text is not JSON, or not a valid plan.
        """
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise FaultPlanError(f"invalid fault plan: not JSON: {exc}") from exc
        return cls.from_data(data)

    @classmethod
    def from_toml(cls, text: str) -> FaultPlan:
        """A plan from TOML text (top-level ``seed``, ``[[rules]]`` tables).

        Raises:
            FaultPlanError: the text is not TOML, or not a valid plan.
            FaultPlanError: also on Python 3.10 without ``tomli`` (TOML needs Python 3.11+ or
                ``pip install tomli``).
        """
        toml = _toml_module()
        try:
            data = toml.loads(text)
        except toml.TOMLDecodeError as exc:
            raise FaultPlanError(f"invalid fault plan: not TOML: {exc}") from exc
        return cls.from_data(data)

    @classmethod
    def load(cls, path: str | Path) -> FaultPlan:
        """A plan from a ``.json`` or ``.toml`` file (UTF-8).

        Raises:
            FaultPlanError: the suffix is neither, or the content is not a valid plan (the
                message starts with the path).
            OSError: the file cannot be read.
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in cls.SUFFIXES:
            raise FaultPlanError(
                f"{path}: a fault plan file must end in .json or .toml, not {suffix or '(none)'!r}"
            )
        text = path.read_text(encoding="utf-8")
        try:
            return cls.from_json(text) if suffix == ".json" else cls.from_toml(text)
        except FaultPlanError as exc:
            raise FaultPlanError(f"{path}: {exc}", exc.problems) from exc.__cause__


def _toml_module(version: tuple[int, int] = sys.version_info[:2]) -> Any:
    """:mod:`tomllib` on Python 3.11+, the ``tomli`` distribution on 3.10; a clear
    :class:`FaultPlanError` when neither can be imported."""
    name = "tomllib" if version >= (3, 11) else "tomli"
    try:
        return importlib.import_module(name)
    except ImportError:
        raise FaultPlanError(
            "reading a TOML fault plan needs Python 3.11+ (tomllib) or, on Python 3.10, "
            "'pip install tomli'; or write the plan as JSON"
        ) from None
