"""sspi_async.com: impersonation during asynchronous COM calls, emulated on asyncio (SPEC §7).

An in-process COM-style runtime: apartments (an STA is one task, re-entrant while it waits; the
MTA runs every call in its own task), server objects with synchronous methods and
``Begin_X``/``Finish_X`` call objects, client proxies carrying the client's identity,
authentication level and impersonation level, and the call context a server acts as its client
through — ``CoGetCallContext``, ``IServerSecurity``, ``ISynchronize``, ``ICancelMethodCalls``.
Methods with Win32 names return HRESULT ints (:class:`HResult`); Python misuse raises.

The rules (SPEC I6–I13, reference R1–R26) and every choice made where Windows is silent are in
the README section "Impersonation during asynchronous calls" and in each module's docstring.
"""

from __future__ import annotations

from .._core._impersonation import call_as, current_token, process_token, run_as
from ._apartment import MTA, STA, Apartment, ObjectRef
from ._cancel import ICancelMethodCalls
from ._cloaking import ClientBlanket
from ._context import (
    CoGetCallContext,
    CoImpersonateClient,
    CoQueryClientBlanket,
    CoRevertToSelf,
    CoTestCancel,
)
from ._errors import ComError
from ._hresults import (
    EOAC_DYNAMIC_CLOAKING,
    EOAC_MAKE_FULLSIC,
    EOAC_MUTUAL_AUTH,
    EOAC_NONE,
    EOAC_STATIC_CLOAKING,
    GENERIC_ALL,
    GENERIC_EXECUTE,
    GENERIC_READ,
    GENERIC_WRITE,
    INFINITE,
    RPC_C_AUTHN_DEFAULT,
    RPC_C_AUTHN_GSS_KERBEROS,
    RPC_C_AUTHN_GSS_NEGOTIATE,
    RPC_C_AUTHN_GSS_SCHANNEL,
    RPC_C_AUTHN_LEVEL_CALL,
    RPC_C_AUTHN_LEVEL_CONNECT,
    RPC_C_AUTHN_LEVEL_DEFAULT,
    RPC_C_AUTHN_LEVEL_NONE,
    RPC_C_AUTHN_LEVEL_PKT,
    RPC_C_AUTHN_LEVEL_PKT_INTEGRITY,
    RPC_C_AUTHN_LEVEL_PKT_PRIVACY,
    RPC_C_AUTHN_NONE,
    RPC_C_AUTHN_WINNT,
    RPC_C_AUTHZ_NONE,
    RPC_C_IMP_LEVEL_ANONYMOUS,
    RPC_C_IMP_LEVEL_DEFAULT,
    RPC_C_IMP_LEVEL_DELEGATE,
    RPC_C_IMP_LEVEL_IDENTIFY,
    RPC_C_IMP_LEVEL_IMPERSONATE,
    HResult,
    IID_ICancelMethodCalls,
    IID_IClientSecurity,
    IID_IServerSecurity,
    IID_ISynchronize,
    IID_IUnknown,
    Win32Error,
    hresult_name,
)
from ._objects import ComObject, ServerCallObject
from ._proxy import ClientCall, Proxy
from ._runtime import Runtime
from ._securable import EVERYONE, Ace, OpenedObject, Securable, get_user_name, open_thread_token
from ._server_call import CallBlanket, IServerSecurity
from ._synchronize import EventKind, ISynchronize

# Every HRESULT and Win32 error under its winerror.h name, as sspi_async.sspi does for statuses.
S_OK = HResult.S_OK
S_FALSE = HResult.S_FALSE
E_NOTIMPL = HResult.E_NOTIMPL
E_NOINTERFACE = HResult.E_NOINTERFACE
E_FAIL = HResult.E_FAIL
E_UNEXPECTED = HResult.E_UNEXPECTED
E_OUTOFMEMORY = HResult.E_OUTOFMEMORY
E_INVALIDARG = HResult.E_INVALIDARG
RPC_E_CALL_CANCELED = HResult.RPC_E_CALL_CANCELED
RPC_E_SERVERFAULT = HResult.RPC_E_SERVERFAULT
RPC_E_DISCONNECTED = HResult.RPC_E_DISCONNECTED
RPC_E_WRONG_THREAD = HResult.RPC_E_WRONG_THREAD
RPC_S_CALLPENDING = HResult.RPC_S_CALLPENDING
RPC_S_WAITONTIMER = HResult.RPC_S_WAITONTIMER
RPC_E_CALL_COMPLETE = HResult.RPC_E_CALL_COMPLETE
RPC_E_UNSECURE_CALL = HResult.RPC_E_UNSECURE_CALL
RPC_E_ACCESS_DENIED = HResult.RPC_E_ACCESS_DENIED
RPC_E_NO_CONTEXT = HResult.RPC_E_NO_CONTEXT
RPC_E_TIMEOUT = HResult.RPC_E_TIMEOUT
RPC_E_NO_SYNC = HResult.RPC_E_NO_SYNC
CO_E_FAILEDTOIMPERSONATE = HResult.CO_E_FAILEDTOIMPERSONATE
CO_E_CANCEL_DISABLED = HResult.CO_E_CANCEL_DISABLED
ERROR_SUCCESS = Win32Error.ERROR_SUCCESS
ERROR_ACCESS_DENIED = Win32Error.ERROR_ACCESS_DENIED
ERROR_NO_TOKEN = Win32Error.ERROR_NO_TOKEN
ERROR_BAD_IMPERSONATION_LEVEL = Win32Error.ERROR_BAD_IMPERSONATION_LEVEL
ERROR_CANT_OPEN_ANONYMOUS = Win32Error.ERROR_CANT_OPEN_ANONYMOUS

__all__ = (
    "CO_E_CANCEL_DISABLED",
    "CO_E_FAILEDTOIMPERSONATE",
    "EOAC_DYNAMIC_CLOAKING",
    "EOAC_MAKE_FULLSIC",
    "EOAC_MUTUAL_AUTH",
    "EOAC_NONE",
    "EOAC_STATIC_CLOAKING",
    "ERROR_ACCESS_DENIED",
    "ERROR_BAD_IMPERSONATION_LEVEL",
    "ERROR_CANT_OPEN_ANONYMOUS",
    "ERROR_NO_TOKEN",
    "ERROR_SUCCESS",
    "EVERYONE",
    "E_FAIL",
    "E_INVALIDARG",
    "E_NOINTERFACE",
    "E_NOTIMPL",
    "E_OUTOFMEMORY",
    "E_UNEXPECTED",
    "GENERIC_ALL",
    "GENERIC_EXECUTE",
    "GENERIC_READ",
    "GENERIC_WRITE",
    "IID_ICancelMethodCalls",
    "IID_IClientSecurity",
    "IID_IServerSecurity",
    "IID_ISynchronize",
    "IID_IUnknown",
    "INFINITE",
    "MTA",
    "RPC_C_AUTHN_DEFAULT",
    "RPC_C_AUTHN_GSS_KERBEROS",
    "RPC_C_AUTHN_GSS_NEGOTIATE",
    "RPC_C_AUTHN_GSS_SCHANNEL",
    "RPC_C_AUTHN_LEVEL_CALL",
    "RPC_C_AUTHN_LEVEL_CONNECT",
    "RPC_C_AUTHN_LEVEL_DEFAULT",
    "RPC_C_AUTHN_LEVEL_NONE",
    "RPC_C_AUTHN_LEVEL_PKT",
    "RPC_C_AUTHN_LEVEL_PKT_INTEGRITY",
    "RPC_C_AUTHN_LEVEL_PKT_PRIVACY",
    "RPC_C_AUTHN_NONE",
    "RPC_C_AUTHN_WINNT",
    "RPC_C_AUTHZ_NONE",
    "RPC_C_IMP_LEVEL_ANONYMOUS",
    "RPC_C_IMP_LEVEL_DEFAULT",
    "RPC_C_IMP_LEVEL_DELEGATE",
    "RPC_C_IMP_LEVEL_IDENTIFY",
    "RPC_C_IMP_LEVEL_IMPERSONATE",
    "RPC_E_ACCESS_DENIED",
    "RPC_E_CALL_CANCELED",
    "RPC_E_CALL_COMPLETE",
    "RPC_E_DISCONNECTED",
    "RPC_E_NO_CONTEXT",
    "RPC_E_NO_SYNC",
    "RPC_E_SERVERFAULT",
    "RPC_E_TIMEOUT",
    "RPC_E_UNSECURE_CALL",
    "RPC_E_WRONG_THREAD",
    "RPC_S_CALLPENDING",
    "RPC_S_WAITONTIMER",
    "STA",
    "S_FALSE",
    "S_OK",
    "Ace",
    "Apartment",
    "CallBlanket",
    "ClientBlanket",
    "ClientCall",
    "CoGetCallContext",
    "CoImpersonateClient",
    "CoQueryClientBlanket",
    "CoRevertToSelf",
    "CoTestCancel",
    "ComError",
    "ComObject",
    "EventKind",
    "HResult",
    "ICancelMethodCalls",
    "IServerSecurity",
    "ISynchronize",
    "ObjectRef",
    "OpenedObject",
    "Proxy",
    "Runtime",
    "Securable",
    "ServerCallObject",
    "Win32Error",
    "call_as",
    "current_token",
    "get_user_name",
    "hresult_name",
    "open_thread_token",
    "process_token",
    "run_as",
)
