"""The SSPI engine: synchronous semantics of every SSPI function on one emulator's tables.

The classic functions (SPEC §5) call these methods directly. The async functions (SPEC §3) call the
same methods from the dispatcher, after the queueing coroutine has returned; an ISC/ASC call comes
back as a :class:`StepJob` whose :meth:`StepJob.run` (the package step, pure and thread-safe) may
run in a crypto worker thread (A14) and whose :meth:`StepJob.finish` writes every out-parameter on
the event loop. Nothing is written before ``finish``; the caller sets the async status after it
(A6).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from .._buffers import SecBuffer, SecBufferDesc
from .._flags import (
    ASC_REQ_MUTUAL_AUTH,
    ASC_RET_MUTUAL_AUTH,
    ISC_REQ_ALLOCATE_MEMORY,
    SCHANNEL_ALERT,
    SCHANNEL_SHUTDOWN,
    SECBUFFER_TOKEN,
    SECPKG_CRED_BOTH,
    SECPKG_CRED_INBOUND,
    SECPKG_CRED_OUTBOUND,
    TLS1_ALERT_CLOSE_NOTIFY,
    TLS1_ALERT_FATAL,
    TLS1_ALERT_WARNING,
    ImpersonationLevel,
    Role,
)
from .._handles import CtxtHandle, SecHandle
from .._identity import ANONYMOUS_LOGON, AccessToken
from .._machine import Machine, Refused
from .._status import SEC_SUCCESS, SecurityStatus
from ..packages import ContextRequest, PackageContext, PackageCredential, PackageError, StepResult
from ..packages._records import split_records
from . import _bufmap
from ._attrs import base_attributes, honoured_attributes
from ._checks import check_int, check_optional, check_out_value
from ._entry_states import ENTRY_TRANSITIONS, EntryEvent, EntryState, busy_error
from ._handle_table import HandleTable
from ._impersonation import (
    is_impersonating,
    privilege_limited,
    revert_to_self,
    set_thread_token,
)
from ._log import CREDENTIALS_REJECTED, IMPERSONATION_BEGIN, IMPERSONATION_END, enabled, logger
from ._registry import PackageEntry, RejectedAuthDataError, find_package

__all__ = ("ContextEntry", "CredentialEntry", "Engine", "StepJob")

S = SecurityStatus


class CredentialEntry:
    """What a CredHandle stands for."""

    __slots__ = ("credential", "expiry", "freed", "package", "use")

    def __init__(self, package: PackageEntry, credential: PackageCredential, use: int) -> None:
        self.package = package
        self.credential = credential
        self.use = use
        self.expiry = credential.expiry
        self.freed = False


class ContextEntry:
    """What a CtxtHandle stands for: one side of one security context.

    ``machine`` holds its :class:`~._entry_states.EntryState` (what the next ISC/ASC does);
    :meth:`fire` is the only way to move it. ``pending_alert`` (which alert ApplyControlToken
    asked for), ``stash`` (a token kept after ``SEC_E_BUFFER_TOO_SMALL``) and ``queued`` (the
    async call that will run the next step, E8) are data.
    """

    __slots__ = (
        "credential",
        "flags",
        "granted",
        "key",
        "machine",
        "package",
        "pending_alert",
        "pkg",
        "queued",
        "role",
        "stash",
    )

    def __init__(
        self, package: PackageEntry, pkg: PackageContext, role: Role, credential: CredentialEntry
    ) -> None:
        self.package = package
        self.pkg = pkg
        self.role = role
        # C4: a context keeps its credential alive even after FreeCredentialsHandle.
        self.credential = credential
        self.key: tuple[int, int] | None = None
        self.flags = 0
        self.granted = 0
        # The (level, description) ApplyControlToken asked for, or the record already made for
        # it when the caller's buffer was too small (M4).
        self.pending_alert: tuple[int, int] | bytes | None = None
        self.stash: tuple[StepResult, int] | None = None
        self.queued: Any = None  # a PendingCall that will step this context (E8)
        self.machine: Machine[EntryState, EntryEvent] = Machine(
            "security context", ENTRY_TRANSITIONS, EntryState.READY
        )

    def fire(self, event: EntryEvent) -> EntryState | Refused:
        """Apply ``event`` (the one writer of the state)."""
        return self.machine.fire(event)

    @property
    def deleted(self) -> bool:
        """Whether DeleteSecurityContext ran (T13)."""
        return self.machine.state is EntryState.DELETED

    @property
    def busy(self) -> bool:
        """Whether a step is in flight (E8)."""
        return self.machine.state is EntryState.STEPPING

    def step_returned(self) -> None:
        """A step's package work came back from a crypto worker (A14): the step is no longer
        running, whether ``StepJob.finish`` follows or shutdown wins (A15) — the ABANDON event."""
        self.machine.fire(EntryEvent.ABANDON)

    def step_queued(self) -> bool:
        """Whether an async step on this context was queued and has not completed (E8)."""
        call = self.queued
        if call is not None and call.actx._emulator._pending.get(id(call.actx)) is call:
            return True
        self.queued = None
        return False


def _write_handle(target: SecHandle, key: tuple[int, int]) -> None:
    target.dwLower, target.dwUpper = key


def _set_value(holder: Any, value: int) -> None:
    if holder is not None:
        holder.value = value


class StepJob:
    """One ISC/ASC call after its arguments were validated: run the package, then write results."""

    __slots__ = (
        "allocate",
        "data",
        "engine",
        "entry",
        "fContextReq",
        "feed",
        "is_new",
        "pOutput",
        "pfContextAttr",
        "phNewContext",
        "ptsExpiry",
        "spare",
    )

    def __init__(
        self,
        engine: Engine,
        entry: ContextEntry,
        *,
        is_new: bool,
        feed: bytes,
        data: bytes,
        spare: SecBuffer | None,
        fContextReq: int,
        phNewContext: SecHandle,
        pOutput: SecBufferDesc,
        pfContextAttr: Any,
        ptsExpiry: Any,
    ) -> None:
        self.engine = engine
        self.entry = entry
        self.is_new = is_new
        self.feed = feed
        self.data = data
        self.spare = spare
        self.fContextReq = fContextReq
        self.allocate = bool(fContextReq & ISC_REQ_ALLOCATE_MEMORY)
        self.phNewContext = phNewContext
        self.pOutput = pOutput
        self.pfContextAttr = pfContextAttr
        self.ptsExpiry = ptsExpiry

    @property
    def offload(self) -> bool:
        """Whether this step goes to a crypto worker thread (A14): a step of a package that does
        public-key crypto, unless it cannot do any: the follow-up call after completion (M2, it
        hands out bytes already produced) and the retry that delivers a kept token (stash)."""
        entry = self.entry
        return entry.package.package.offload and entry.stash is None and not entry.pkg.complete

    def run(self) -> StepResult:
        """The package step. Pure: touches only the package context; safe in a worker thread."""
        stash = self.entry.stash
        if stash is not None:
            return stash[0]
        try:
            return self.entry.pkg.step(self.feed)
        except Exception:  # a buggy third-party package must not take the emulator down
            logger.exception("sspi.package.failed", package=self.entry.package.info.Name)
            return StepResult(S.SEC_E_INTERNAL_ERROR)

    def finish(self, result: StepResult) -> int:
        """Write every out-parameter for ``result`` and return the call's status (A6)."""
        entry = self.entry
        status = result.status
        if SEC_SUCCESS(status) or status == S.SEC_E_INCOMPLETE_MESSAGE:
            event = EntryEvent.FINISH
        else:
            event = EntryEvent.FINISH_FAILED  # T11: failures are sticky
        if entry.fire(event) is EntryState.DELETED:
            return S.SEC_E_INVALID_HANDLE
        if entry.stash is not None:
            consumed = entry.stash[1]
            entry.stash = None
        else:
            consumed = result.consumed
        if status == S.SEC_E_INCOMPLETE_MESSAGE:  # only packages that are not TLS-framed
            _bufmap.mark_missing(self.spare, result.missing)
            return status
        is_error = not SEC_SUCCESS(status)
        failure = _bufmap.write_output(
            self.pOutput, result.output, self.allocate, is_alert=is_error
        )
        if failure == S.SEC_E_BUFFER_TOO_SMALL and not is_error:
            # Keep the produced token so that a retry with a bigger buffer loses nothing.
            entry.fire(EntryEvent.FINISH_STASH)
            entry.stash = (result, consumed)
            return failure
        if failure is not None:
            return failure
        if (
            not is_error
            and consumed < len(self.data)
            and not _bufmap.mark_extra(self.spare, self.data[consumed:])
        ):
            return S.SEC_E_INVALID_TOKEN  # reference §7: EXTRA needs an EMPTY buffer to land in
        if self.is_new:
            entry.key = self.engine.contexts.add(entry, entry.package.package_id)
        assert entry.key is not None
        _write_handle(self.phNewContext, entry.key)
        entry.flags |= self.fContextReq & ~ISC_REQ_ALLOCATE_MEMORY
        entry.granted |= result.attributes
        attrs = entry.granted
        if entry.package.package.tls_framed:
            attrs |= base_attributes(entry.role) | honoured_attributes(entry.role, entry.flags)
        if self.allocate:
            # T2/T9: the RET bit follows the REQ flag of this call, as Wine's establish_context
            # sets it (ISC_RET_ALLOCATED_MEMORY == ASC_RET_ALLOCATED_MEMORY == 0x100).
            attrs |= ISC_REQ_ALLOCATE_MEMORY
        if status == S.SEC_E_OK and entry.role is Role.SERVER and entry.flags & ASC_REQ_MUTUAL_AUTH:
            peer = entry.pkg.peer()
            if peer is not None and peer.principal is not None:
                entry.granted |= ASC_RET_MUTUAL_AUTH
                attrs |= ASC_RET_MUTUAL_AUTH
        _set_value(self.pfContextAttr, attrs)
        if status == S.SEC_E_OK:
            _set_value(self.ptsExpiry, entry.credential.expiry)
        return status


class Engine:
    """The handle tables of one emulator and the synchronous SSPI operations on them."""

    def __init__(self, *, kernel: bool, random: Callable[[int], bytes]) -> None:
        self.kernel = kernel
        self.random = random
        self.credentials: HandleTable[CredentialEntry] = HandleTable()
        self.contexts: HandleTable[ContextEntry] = HandleTable()

    # ---------------------------------------------------------------- credentials (C1–C4)

    def acquire_credentials(
        self,
        pszPrincipal: str | None,
        pszPackage: str | None,
        fCredentialUse: int,
        pAuthData: object | None,
        phCredential: SecHandle | None,
        ptsExpiry: Any,
    ) -> int:
        """AcquireCredentialsHandle: C1–C3."""
        check_optional("pszPrincipal", pszPrincipal, str)
        check_optional("pszPackage", pszPackage, str)
        check_int("fCredentialUse", fCredentialUse)
        check_optional("phCredential", phCredential, SecHandle)
        check_out_value("ptsExpiry", ptsExpiry)
        if self.closed:  # E1: its emulator was shut down
            return S.SEC_E_SHUTDOWN_IN_PROGRESS
        package = find_package(pszPackage)
        if package is None:
            return S.SEC_E_SECPKG_NOT_FOUND
        if fCredentialUse not in (SECPKG_CRED_INBOUND, SECPKG_CRED_OUTBOUND, SECPKG_CRED_BOTH):
            return S.SEC_E_NO_CREDENTIALS
        try:
            shaped = package.shape_auth_data(pAuthData)
        except RejectedAuthDataError as exc:
            if enabled():
                logger.warning(CREDENTIALS_REJECTED, package=package.info.Name, reason=str(exc))
            return S.SEC_E_UNKNOWN_CREDENTIALS
        try:
            credential = package.package.acquire_credentials(pszPrincipal, fCredentialUse, shaped)
        except PackageError as exc:
            if enabled():
                logger.info(
                    CREDENTIALS_REJECTED,
                    package=package.info.Name,
                    reason=str(exc),
                    status=exc.status,
                )
            return exc.status
        if phCredential is None:
            return S.SEC_E_INVALID_HANDLE
        key = self.credentials.add(
            CredentialEntry(package, credential, fCredentialUse), package.package_id
        )
        _write_handle(phCredential, key)
        _set_value(ptsExpiry, credential.expiry)
        return S.SEC_E_OK

    def free_credentials(self, phCredential: SecHandle | None) -> int:
        """FreeCredentialsHandle: C4."""
        check_optional("phCredential", phCredential, SecHandle)
        entry = self.credentials.pop(phCredential) if phCredential is not None else None
        if entry is None:
            return S.SEC_E_INVALID_HANDLE
        entry.freed = True
        return S.SEC_E_OK

    # ---------------------------------------------------------------- contexts (T1–T13)

    def security_context(
        self,
        role: Role,
        phCredential: SecHandle | None,
        phContext: SecHandle | None,
        pszTargetName: str | None,
        fContextReq: int,
        pInput: SecBufferDesc | None,
        phNewContext: SecHandle | None,
        pOutput: SecBufferDesc | None,
        pfContextAttr: Any,
        ptsExpiry: Any,
        *,
        checked: bool = False,
    ) -> int | StepJob:
        """InitializeSecurityContext (CLIENT) / AcceptSecurityContext (SERVER).

        Returns a final status when the call ends before the package is involved, else a
        :class:`StepJob`. This is the trickiest function of the project: the order of the checks
        is Schannel's (reference §7 ``establish_context``) and the Wine cases pin it.

        After DecryptMessage refused a record (E4), the next call, whatever its input (None
        too), returns the DecryptMessage failure status with the fatal alert record in its output
        (the ALERT buffer when one was passed, else the TOKEN; T11); after
        ``ApplyControlToken(SCHANNEL_SHUTDOWN)`` it returns ``SEC_E_OK`` with that alert instead
        of close_notify (M4). Every later call returns the failure status (or, after another
        shutdown, ``SEC_E_OK``) with no output: nothing follows a fatal alert.

        Raises:
            SspiMisuseError: a step is already in flight on ``phContext`` (E8).
        """
        if not checked:  # the queued calls made these checks at queue time (A4): not twice
            check_optional("phCredential", phCredential, SecHandle)
            check_optional("phContext", phContext, SecHandle)
            check_optional("pszTargetName", pszTargetName, str)
            check_int("fContextReq", fContextReq)
            check_optional("pInput", pInput, SecBufferDesc)
            check_optional("phNewContext", phNewContext, SecHandle)
            check_optional("pOutput", pOutput, SecBufferDesc)
            check_out_value("pfContextAttr", pfContextAttr)
            check_out_value("ptsExpiry", ptsExpiry)
        if pOutput is None:
            return S.SEC_E_INVALID_TOKEN  # [17]
        allocate = bool(fContextReq & ISC_REQ_ALLOCATE_MEMORY)
        failure = _bufmap.check_output_sizes(pOutput, allocate)  # [12, 13]: before handles
        if failure is not None:
            return failure
        if phContext is None:
            return self._first_call(
                role,
                phCredential,
                pszTargetName,
                fContextReq,
                pInput,
                phNewContext,
                pOutput,
                pfContextAttr,
                ptsExpiry,
            )
        entry = self.contexts.get(phContext)
        if entry is None or entry.role is not role or phNewContext is None:
            return S.SEC_E_INVALID_HANDLE  # T13
        state = entry.machine.state
        if state is EntryState.STEPPING or (not checked and entry.step_queued()):
            # E8: two steps at once on one context are the caller's bug: say so.
            raise busy_error(phContext, _STEP_NAMES[role])
        common = {
            "fContextReq": fContextReq,
            "phNewContext": phNewContext,
            "pOutput": pOutput,
            "pfContextAttr": pfContextAttr,
            "ptsExpiry": ptsExpiry,
        }
        if state is EntryState.ALERT_REQUESTED or state is EntryState.FAILED_ALERT_REQUESTED:
            return self._emit_alert(entry, **common)
        if state is EntryState.ALERT_DUE or state is EntryState.FAILED:
            # E4/T11: a record was refused (or a step failed); this call, whatever its input,
            # returns the failure status with the fatal alert the package made for it, if it has
            # not gone out yet, as a Schannel application sends it. The input is not read.
            return self._job(entry, False, b"", b"", None, **common)
        if state is EntryState.STASHED:  # retry after SEC_E_BUFFER_TOO_SMALL: deliver the token
            token = _bufmap.read_input(pInput) if pInput is not None else None
            if isinstance(token, _bufmap.InputToken):
                return self._job(entry, False, b"", token.data, token.spare, **common)
            return self._job(entry, False, b"", b"", None, **common)
        if pInput is None:
            if state is EntryState.RENEGOTIATE:  # M2: the follow-up call after SEC_I_RENEGOTIATE
                return self._job(entry, False, b"", b"", None, **common)
            return S.SEC_E_INCOMPLETE_MESSAGE  # T3: output untouched, phNewContext not written
        read = self._read_records(entry.package, pInput, pOutput, complete=entry.pkg.complete)
        if isinstance(read, int):
            return read
        return self._job(entry, False, *read, **common)

    def _first_call(
        self,
        role: Role,
        phCredential: SecHandle | None,
        pszTargetName: str | None,
        fContextReq: int,
        pInput: SecBufferDesc | None,
        phNewContext: SecHandle | None,
        pOutput: SecBufferDesc,
        pfContextAttr: Any,
        ptsExpiry: Any,
    ) -> int | StepJob:
        cred = self.credentials.get(phCredential)
        needed = SECPKG_CRED_OUTBOUND if role is Role.CLIENT else SECPKG_CRED_INBOUND
        if cred is None or not cred.use & needed or phNewContext is None:
            return S.SEC_E_INVALID_HANDLE
        alpn = _bufmap.application_protocols(pInput)
        if isinstance(alpn, int):
            return alpn
        feed: bytes = b""
        data: bytes = b""
        spare: SecBuffer | None = None
        if role is Role.SERVER:
            # The server's first call reads the ClientHello; an incomplete one creates no context.
            if pInput is None:
                return S.SEC_E_INCOMPLETE_MESSAGE
            read = self._read_records(cred.package, pInput, pOutput)
            if isinstance(read, int):
                return read
            feed, data, spare = read
        request = ContextRequest(role, pszTargetName, fContextReq, alpn, self.random)
        try:
            pkg = cred.package.package.new_context(cred.credential, request)
        except PackageError as exc:
            return exc.status
        entry = ContextEntry(cred.package, pkg, role, cred)
        return self._job(
            entry,
            True,
            feed,
            data,
            spare,
            fContextReq=fContextReq,
            phNewContext=phNewContext,
            pOutput=pOutput,
            pfContextAttr=pfContextAttr,
            ptsExpiry=ptsExpiry,
        )

    def _job(
        self,
        entry: ContextEntry,
        is_new: bool,
        feed: bytes,
        data: bytes,
        spare: SecBuffer | None,
        **out: Any,
    ) -> StepJob:
        entry.fire(EntryEvent.BEGIN)
        return StepJob(self, entry, is_new=is_new, feed=feed, data=data, spare=spare, **out)

    @staticmethod
    def _read_records(
        package: PackageEntry,
        pInput: SecBufferDesc,
        pOutput: SecBufferDesc,
        *,
        complete: bool = False,
    ) -> tuple[bytes, bytes, SecBuffer | None] | int:
        """T4/T5: the whole records to feed, the full token, and the buffer for MISSING/EXTRA.

        On a complete context (the follow-up call after ``SEC_I_RENEGOTIATE``, M2) a partial
        record is application data the caller passed along: it is returned as EXTRA, not
        answered with ``SEC_E_INCOMPLETE_MESSAGE``.
        """
        token = _bufmap.read_input(pInput)
        if isinstance(token, int):
            if token == S.SEC_E_INVALID_TOKEN:
                _zero_token_output(pOutput)
            return token
        data = token.data
        if not package.package.tls_framed:
            return data, data, token.spare
        if not _bufmap.header_plausible(data):
            _zero_token_output(pOutput)  # [19]
            return S.SEC_E_INVALID_TOKEN
        whole, missing = split_records(data)
        if whole == 0:
            if complete:
                return b"", data, token.spare
            _bufmap.mark_missing(token.spare, missing)  # [22–24]
            return S.SEC_E_INCOMPLETE_MESSAGE
        return data[:whole], data, token.spare

    def _emit_alert(
        self,
        entry: ContextEntry,
        *,
        fContextReq: int,
        phNewContext: SecHandle,
        pOutput: SecBufferDesc,
        pfContextAttr: Any,
        ptsExpiry: Any,
    ) -> int:
        """M4: after ApplyControlToken the next ISC/ASC returns SEC_E_OK with the alert record.

        E4: on a context that refused a record, ``SCHANNEL_SHUTDOWN`` (or any alert) gives the
        fatal alert the package made for the refused record instead, still with ``SEC_E_OK`` —
        a Schannel application's shutdown path sends the token of a successful call — and, once
        that went out, an empty token: never a close_notify after a fatal alert. Output that does
        not fit (``SEC_E_BUFFER_TOO_SMALL``) is not lost: the record the package made (which it
        hands out only once) is kept for the retry."""
        pending = entry.pending_alert
        assert pending is not None
        if isinstance(pending, bytes):
            record = pending  # made by an earlier call whose buffer was too small
        else:
            try:
                record = entry.pkg.alert(*pending)
            except PackageError as exc:
                entry.pending_alert = None  # refused once: the context goes on as before (M4)
                entry.fire(EntryEvent.ALERT_SENT)
                return exc.status
        failure = _bufmap.write_output(
            pOutput, record, bool(fContextReq & ISC_REQ_ALLOCATE_MEMORY), is_alert=False
        )
        if failure is not None:
            entry.pending_alert = record
            return failure
        entry.pending_alert = None
        entry.fire(EntryEvent.ALERT_SENT)
        assert entry.key is not None
        _write_handle(phNewContext, entry.key)
        return S.SEC_E_OK

    def delete_context(self, phContext: SecHandle | None) -> int:
        """DeleteSecurityContext: T13."""
        check_optional("phContext", phContext, SecHandle)
        entry = self.contexts.pop(phContext) if phContext is not None else None
        if entry is None:
            return S.SEC_E_INVALID_HANDLE
        entry.fire(EntryEvent.DELETE)
        return S.SEC_E_OK

    def context(self, phContext: object) -> ContextEntry | None:
        """The live context behind ``phContext`` (None when unknown or deleted)."""
        if type(phContext) is CtxtHandle:  # the usual case (once per record): no more checks
            return self.contexts.get(phContext)
        check_optional("phContext", phContext, SecHandle)
        return self.contexts.get(phContext) if isinstance(phContext, SecHandle) else None

    def apply_control_token(self, phContext: SecHandle | None, pInput: SecBufferDesc | None) -> int:
        """ApplyControlToken: M4, cases 43–49."""
        check_optional("pInput", pInput, SecBufferDesc)
        entry = self.context(phContext)
        if entry is None:
            return S.SEC_E_INVALID_HANDLE
        if pInput is None:
            return S.SEC_E_INTERNAL_ERROR
        if pInput.cBuffers != 1 or pInput.pBuffers[0].BufferType != SECBUFFER_TOKEN:
            return S.SEC_E_INVALID_TOKEN
        raw = pInput.pBuffers[0].data()
        if len(raw) < 4:
            return S.SEC_E_UNSUPPORTED_FUNCTION
        (kind,) = struct.unpack_from("<I", raw)
        if kind == SCHANNEL_SHUTDOWN:
            self._request_alert(entry, phContext, (TLS1_ALERT_WARNING, TLS1_ALERT_CLOSE_NOTIFY))
            return S.SEC_E_OK
        if kind == SCHANNEL_ALERT:
            if len(raw) < 12:
                return S.SEC_E_INVALID_TOKEN
            _, level, number = struct.unpack_from("<III", raw)
            if level not in (TLS1_ALERT_WARNING, TLS1_ALERT_FATAL) or number > 255:
                return S.SEC_E_INVALID_TOKEN
            self._request_alert(entry, phContext, (level, number))
            return S.SEC_E_OK
        return S.SEC_E_UNSUPPORTED_FUNCTION

    @staticmethod
    def _request_alert(entry: ContextEntry, phContext: object, alert: tuple[int, int]) -> None:
        """M4: the next ISC/ASC emits ``alert``. E8: not while a step is in flight."""
        if entry.step_queued() or isinstance(entry.fire(EntryEvent.ALERT), Refused):
            raise busy_error(phContext, "ApplyControlToken")
        entry.pending_alert = alert

    # ---------------------------------------------------------------- impersonation (I1–I4)

    def client_token(self, entry: ContextEntry) -> AccessToken | None:
        """The client's token on a complete server context (None when there is no client)."""
        if entry.role is not Role.SERVER or not entry.pkg.complete:
            return None
        peer = entry.pkg.peer()
        if peer is None:
            return None
        source = entry.package.info.Name
        if peer.principal is None:
            if not peer.anonymous_token:
                return None  # Schannel: a token exists only for a mapped certificate (§4.3)
            return AccessToken(
                ANONYMOUS_LOGON, level=ImpersonationLevel.SecurityAnonymous, source=source
            )
        level = (
            ImpersonationLevel.SecurityIdentification
            if peer.identify_only
            else ImpersonationLevel.SecurityImpersonation
        )
        return AccessToken(peer.principal, level=level, source=source)

    def impersonate(self, phContext: SecHandle | None) -> int:
        """ImpersonateSecurityContext: I1, I3, I4."""
        if self.kernel:
            return S.SEC_E_UNSUPPORTED_FUNCTION  # I4: kernel-mode Schannel cannot impersonate
        entry = self.context(phContext)
        if entry is None:
            return S.SEC_E_INVALID_HANDLE
        token = self.client_token(entry)
        if token is None or token.level == ImpersonationLevel.SecurityAnonymous:
            return S.SEC_E_NO_IMPERSONATION
        token = privilege_limited(token)  # R23 → R13: no SeImpersonatePrivilege, IDENTIFY only
        set_thread_token(token)
        if enabled():
            logger.info(
                IMPERSONATION_BEGIN, user=token.user, level=token.level.name, source=token.source
            )
        return S.SEC_E_OK

    def revert(self, phContext: SecHandle | None) -> int:
        """RevertSecurityContext: I2."""
        if self.context(phContext) is None:
            return S.SEC_E_INVALID_HANDLE
        if is_impersonating():
            token = revert_to_self()
            if enabled():
                logger.info(IMPERSONATION_END, user=token.user)
        return S.SEC_E_OK

    def query_token(self, phContext: SecHandle | None) -> tuple[int, AccessToken | None]:
        """QuerySecurityContextToken: the client's token, queryable even at IDENTIFY (I3, I4)."""
        if self.kernel:
            return S.SEC_E_UNSUPPORTED_FUNCTION, None
        entry = self.context(phContext)
        if entry is None:
            return S.SEC_E_INVALID_HANDLE, None
        token = self.client_token(entry)
        if token is None:
            return S.SEC_E_NO_IMPERSONATION, None
        return S.SEC_E_OK, token

    # ---------------------------------------------------------------- shutdown (E1)

    #: Set once by :meth:`shutdown` (a one-way latch; the emulator's own lifecycle is its table).
    closed = False

    def shutdown(self) -> None:
        """Free every live handle (``Emulator.aclose``, E1): the tables end empty, later calls on
        the old handles answer ``SEC_E_INVALID_HANDLE`` and new credentials
        ``SEC_E_SHUTDOWN_IN_PROGRESS``. Fresh tables, so that nothing can reach an old entry."""
        self.closed = True
        credentials, self.credentials = self.credentials, HandleTable()
        contexts, self.contexts = self.contexts, HandleTable()
        for context in contexts.values():
            context.fire(EntryEvent.DELETE)
        for credential in credentials.values():
            credential.freed = True


_STEP_NAMES = {Role.CLIENT: "InitializeSecurityContext", Role.SERVER: "AcceptSecurityContext"}


def _zero_token_output(pOutput: SecBufferDesc) -> None:
    for buf in pOutput.pBuffers:
        if buf.BufferType == SECBUFFER_TOKEN:
            buf.cbBuffer = 0
