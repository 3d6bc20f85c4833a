"""Settings and credential models: the pydantic edge of the emulator (DESIGN "Data").

Models are validated once, where they cross the user boundary, then read as plain values.
Unknown fields are rejected everywhere (SPEC §4). A validation failure in settings becomes
:class:`ConfigurationError` (a ``ValueError``) naming the field; in credential data it becomes
``SEC_E_UNKNOWN_CREDENTIALS`` (C2), with the message logged and never the secret.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import Field, SecretBytes, ValidationError, field_validator

from ..packages.simtls import SimTLSConfig
from ._faults import FaultPlan, FaultPlanError, plan_problems
from ._model import ConfigurationError, _Model, describe_validation_error

__all__ = ("ConfigurationError", "EmulatorSettings", "SimTLSCred", "describe_validation_error")


class EmulatorSettings(_Model):
    """How an :class:`~sspi_async.Emulator` behaves (SPEC §6).

    Attributes:
        profile: ``"user"`` (default) allows impersonation; ``"kernel"`` reproduces the
            documented kernel-mode Schannel limits (I4).
        strict: reusing a completed async context without ``SspiReinitAsyncContext`` is refused
            with ``SEC_E_INVALID_PARAMETER`` (A10).
        completion: ``"deferred"`` (default) runs a call's work after the queueing coroutine
            returns; ``"eager"`` runs it before returning (A7). Callbacks are deferred either way.
        crypto_workers: worker threads for packages that do public-key cryptography (A14);
            ``0`` runs that work inline on the event loop.
        worker_niceness: how much lower the crypto workers' scheduling priority is than the event
            loop's (a Linux nice increment, 0–19; ignored elsewhere). With as many busy workers as
            cores, the loop thread would otherwise wait for a CPU for whole scheduler slices.
        latency: simulated LSA round-trip time added to every async call, in seconds.
        time_scale: multiplies every emulated delay (``latency``, fault-plan delays); ``0`` means
            no waiting while keeping the order of events.
        faults: a fault plan (SPEC §9) applied to every queued call: a
            :class:`~sspi_async.FaultPlan`, or its data as a dict or JSON text (validated into
            one), or the path of a ``.json``/``.toml`` plan file. ``Emulator.set_fault_plan``
            swaps it at run time.
        trace: record a trace event per queued call, completion and callback dispatch
            (``Emulator.trace_events()``, ``Emulator.write_trace(path)``).
        trace_tokens: also record the output token bytes (``token_out_hex``); implies ``trace``.
            Handshake tokens only: keys, secrets and plaintext are never traced.
        callback_grace: how long ``Emulator.aclose()`` waits for coroutine notify callbacks
            still running, in seconds (E7); then it cancels them, logs
            ``sspi.callback.abandoned`` and finishes. ``0`` cancels them at once.
    """

    profile: Literal["user", "kernel"] = "user"
    strict: bool = False
    completion: Literal["deferred", "eager"] = "deferred"
    crypto_workers: int = Field(default=2, ge=0, le=64)
    worker_niceness: int = Field(default=10, ge=0, le=19)
    latency: float = Field(default=0.0, ge=0.0, le=60.0)
    time_scale: float = Field(default=1.0, ge=0.0, le=1000.0)
    faults: FaultPlan | None = None
    trace: bool = False
    trace_tokens: bool = False
    callback_grace: float = Field(default=5.0, ge=0.0, le=3600.0)

    def __init__(self, **data: Any) -> None:
        # Not _Model's translation: a mistake inside the fault plan is reported the way a plan
        # reports it (``faults.rules[2].action.status: …``) and raises FaultPlanError.
        try:
            super(_Model, self).__init__(**data)
        except ValidationError as exc:
            problems = plan_problems(exc)
            text = "; ".join(f"{where or '(settings)'}: {message}" for where, message in problems)
            message = f"invalid EmulatorSettings: {text}"
            if any(where.split(".")[0].split("[")[0] == "faults" for where, _ in problems):
                raise FaultPlanError(message, problems) from exc
            raise ConfigurationError(message) from exc

    @field_validator("faults", mode="before")
    @classmethod
    def _plan(cls, value: object) -> object:
        """A plan as data (dict), JSON text, or a plan file path; a FaultPlan passes as is."""
        if isinstance(value, (str, bytes)):
            return FaultPlan.from_json(value)
        if isinstance(value, os.PathLike):
            try:
                return FaultPlan.load(os.fspath(value))
            except FaultPlanError as exc:
                # Not spliced into the settings' locations: the message keeps the file's name.
                raise FaultPlanError(str(exc)) from exc
        if isinstance(value, dict):
            return FaultPlan.from_data(value)
        return value

    @property
    def tracing(self) -> bool:
        """Whether a trace is recorded (``trace`` or ``trace_tokens``)."""
        return self.trace or self.trace_tokens


class SimTLSCred(_Model):
    """Credential data for the SimTLS package (``pAuthData``), SPEC §4.

    Both sides hold a principal and a shared secret; the handshake proves with HMAC-SHA256 over
    the transcript that both know the same secret.

    Attributes:
        principal: this side's name (the server's is checked against ``pszTargetName``; the
            client's becomes its identity on the server).
        secret: the shared secret (bytes or text; never logged or shown in ``repr``).
        rounds: handshake shape: 1 = TLS 1.3 (default), 2 = TLS 1.2, up to 8 for longer ones.
        tls_version_bytes: the protocol version this side reports (0x0304 or 0x0303).
        alpn: application protocols offered (client) or preferred in order (server).
        alpn_required: server: no common protocol fails the handshake.
        session_tickets: server: send a post-handshake ticket (the client's DecryptMessage then
            returns ``SEC_I_RENEGOTIATE``, M2).
        allow_anonymous: server: accept clients that have no principal.
    """

    principal: str | None = None
    secret: SecretBytes = SecretBytes(b"")
    rounds: int = Field(default=1, ge=1, le=8)
    tls_version_bytes: Literal[0x0303, 0x0304] = 0x0304
    alpn: tuple[str, ...] = ()
    alpn_required: bool = False
    session_tickets: bool = False
    allow_anonymous: bool = False

    @field_validator("secret", mode="before")
    @classmethod
    def _text_secret(cls, value: object) -> object:
        return value.encode() if isinstance(value, str) else value

    @field_validator("alpn")
    @classmethod
    def _alpn_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for ident in value:
            if not 0 < len(ident.encode()) < 256:
                raise ValueError(f"ALPN id {ident!r} must be 1 to 255 bytes")
        return value

    def to_package(self) -> SimTLSConfig:
        """The plain data the sans-IO package reads."""
        return SimTLSConfig(
            principal=self.principal,
            secret=self.secret.get_secret_value(),
            rounds=self.rounds,
            tls_version_bytes=self.tls_version_bytes,
            alpn=self.alpn,
            alpn_required=self.alpn_required,
            session_tickets=self.session_tickets,
            allow_anonymous=self.allow_anonymous,
        )
