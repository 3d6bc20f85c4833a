"""The flat facade: sspi.h under its exact Win32 names, values and call shapes (SPEC §2–§5).

Every ``Sspi*`` function is a coroutine function (``await`` it); the classic functions are plain
synchronous functions, as on Windows, and share state with the async ones. Parameters are
positional-or-keyword with the Win32 names; ``None`` stands for NULL. Statuses are returned as
``SecurityStatus`` members (unsigned winerror.h values). A wrong Python type raises ``TypeError``
naming the parameter; undefined-behaviour misuse raises ``SspiMisuseError``.

This module adds no behaviour: it translates calls to the emulator (``sspi_async._core``) and
exceptions to statuses in one place (:func:`_translate`). The constants and ``__all__`` below are
generated from the reference tables; ``tests/test_vocabulary.py`` checks them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from ._attributes import (
    SecPkgContext_ApplicationProtocol,
    SecPkgContext_Bindings,
    SecPkgContext_CipherInfo,
    SecPkgContext_ConnectionInfo,
    SecPkgContext_Names,
    SecPkgContext_PackageInfo,
    SecPkgContext_RemoteCertContext,
    SecPkgContext_Sizes,
    SecPkgContext_StreamSizes,
    SecPkgInfo,
)
from ._buffers import SecBuffer, SecBufferDesc
from ._core import _allocations
from ._core._async_calls import acquire_async as _acquire_async
from ._core._async_calls import context_async as _context_async
from ._core._async_calls import delete_async as _delete_async
from ._core._async_calls import free_credentials_async as _free_credentials_async
from ._core._async_context import Callback, SspiAsyncContext
from ._core._bufmap import encode_application_protocols
from ._core._checks import check_int as _check_int
from ._core._checks import check_optional as _check_optional
from ._core._emulator import current_emulator as _current_emulator
from ._core._engine import StepJob as _StepJob
from ._core._impersonation import current_token, process_token
from ._core._messages import decrypt_message as _decrypt_message
from ._core._messages import encrypt_message as _encrypt_message
from ._core._messages import query_attributes as _query_attributes
from ._core._registry import find_package as _find_package
from ._core._registry import list_packages as _list_packages
from ._errors import SspiError, SspiMisuseError
from ._flags import (
    ASC_REQ_ALLOCATE_MEMORY,
    ASC_REQ_ALLOW_CONTEXT_REPLAY,
    ASC_REQ_ALLOW_MISSING_BINDINGS,
    ASC_REQ_ALLOW_NON_USER_LOGONS,
    ASC_REQ_ALLOW_NULL_SESSION,
    ASC_REQ_CALL_LEVEL,
    ASC_REQ_CONFIDENTIALITY,
    ASC_REQ_CONNECTION,
    ASC_REQ_DATAGRAM,
    ASC_REQ_DELEGATE,
    ASC_REQ_EXPLICIT_SESSION,
    ASC_REQ_EXTENDED_ERROR,
    ASC_REQ_FRAGMENT_SUPPLIED,
    ASC_REQ_FRAGMENT_TO_FIT,
    ASC_REQ_IDENTIFY,
    ASC_REQ_INTEGRITY,
    ASC_REQ_LICENSING,
    ASC_REQ_MESSAGES,
    ASC_REQ_MUTUAL_AUTH,
    ASC_REQ_NO_TOKEN,
    ASC_REQ_PROXY_BINDINGS,
    ASC_REQ_REPLAY_DETECT,
    ASC_REQ_SEQUENCE_DETECT,
    ASC_REQ_SESSION_TICKET,
    ASC_REQ_STREAM,
    ASC_REQ_USE_DCE_STYLE,
    ASC_REQ_USE_SESSION_KEY,
    ASC_RET_ALLOCATED_MEMORY,
    ASC_RET_ALLOW_CONTEXT_REPLAY,
    ASC_RET_ALLOW_NON_USER_LOGONS,
    ASC_RET_CALL_LEVEL,
    ASC_RET_CONFIDENTIALITY,
    ASC_RET_CONNECTION,
    ASC_RET_DATAGRAM,
    ASC_RET_DELEGATE,
    ASC_RET_EXPLICIT_SESSION,
    ASC_RET_EXTENDED_ERROR,
    ASC_RET_FRAGMENT_ONLY,
    ASC_RET_IDENTIFY,
    ASC_RET_INTEGRITY,
    ASC_RET_LICENSING,
    ASC_RET_MESSAGES,
    ASC_RET_MUTUAL_AUTH,
    ASC_RET_NO_ADDITIONAL_TOKEN,
    ASC_RET_NO_TOKEN,
    ASC_RET_NULL_SESSION,
    ASC_RET_REPLAY_DETECT,
    ASC_RET_REUSE_SESSION_TICKETS,
    ASC_RET_SEQUENCE_DETECT,
    ASC_RET_SESSION_TICKET,
    ASC_RET_STREAM,
    ASC_RET_THIRD_LEG_FAILED,
    ASC_RET_USE_SESSION_KEY,
    ASC_RET_USED_DCE_STYLE,
    ISC_REQ_ALLOCATE_MEMORY,
    ISC_REQ_CALL_LEVEL,
    ISC_REQ_CONFIDENTIALITY,
    ISC_REQ_CONFIDENTIALITY_ONLY,
    ISC_REQ_CONNECTION,
    ISC_REQ_DATAGRAM,
    ISC_REQ_DEFERRED_CRED_VALIDATION,
    ISC_REQ_DELEGATE,
    ISC_REQ_EXPLICIT_SESSION,
    ISC_REQ_EXTENDED_ERROR,
    ISC_REQ_FORWARD_CREDENTIALS,
    ISC_REQ_FRAGMENT_SUPPLIED,
    ISC_REQ_FRAGMENT_TO_FIT,
    ISC_REQ_IDENTIFY,
    ISC_REQ_INTEGRITY,
    ISC_REQ_MANUAL_CRED_VALIDATION,
    ISC_REQ_MESSAGES,
    ISC_REQ_MUTUAL_AUTH,
    ISC_REQ_NO_INTEGRITY,
    ISC_REQ_NO_POST_HANDSHAKE_AUTH,
    ISC_REQ_NULL_SESSION,
    ISC_REQ_PROMPT_FOR_CREDS,
    ISC_REQ_REPLAY_DETECT,
    ISC_REQ_RESERVED1,
    ISC_REQ_REUSE_SESSION_TICKETS,
    ISC_REQ_SEQUENCE_DETECT,
    ISC_REQ_STREAM,
    ISC_REQ_UNVERIFIED_TARGET_NAME,
    ISC_REQ_USE_DCE_STYLE,
    ISC_REQ_USE_HTTP_STYLE,
    ISC_REQ_USE_SESSION_KEY,
    ISC_REQ_USE_SUPPLIED_CREDS,
    ISC_RET_ALLOCATED_MEMORY,
    ISC_RET_CALL_LEVEL,
    ISC_RET_CONFIDENTIALITY,
    ISC_RET_CONFIDENTIALITY_ONLY,
    ISC_RET_CONNECTION,
    ISC_RET_DATAGRAM,
    ISC_RET_DEFERRED_CRED_VALIDATION,
    ISC_RET_DELEGATE,
    ISC_RET_EXPLICIT_SESSION,
    ISC_RET_EXTENDED_ERROR,
    ISC_RET_FORWARD_CREDENTIALS,
    ISC_RET_FRAGMENT_ONLY,
    ISC_RET_IDENTIFY,
    ISC_RET_INTEGRITY,
    ISC_RET_INTERMEDIATE_RETURN,
    ISC_RET_MANUAL_CRED_VALIDATION,
    ISC_RET_MESSAGES,
    ISC_RET_MUTUAL_AUTH,
    ISC_RET_NO_ADDITIONAL_TOKEN,
    ISC_RET_NO_POST_HANDSHAKE_AUTH,
    ISC_RET_NULL_SESSION,
    ISC_RET_REAUTHENTICATION,
    ISC_RET_REPLAY_DETECT,
    ISC_RET_RESERVED1,
    ISC_RET_REUSE_SESSION_TICKETS,
    ISC_RET_SEQUENCE_DETECT,
    ISC_RET_STREAM,
    ISC_RET_USE_SESSION_KEY,
    ISC_RET_USED_COLLECTED_CREDS,
    ISC_RET_USED_DCE_STYLE,
    ISC_RET_USED_HTTP_STYLE,
    ISC_RET_USED_SUPPLIED_CREDS,
    MAX_OUTPUT_BUFFERS,
    SCH_CRED_AUTO_CRED_VALIDATION,
    SCH_CRED_DEFERRED_CRED_VALIDATION,
    SCH_CRED_IGNORE_NO_REVOCATION_CHECK,
    SCH_CRED_IGNORE_REVOCATION_OFFLINE,
    SCH_CRED_MANUAL_CRED_VALIDATION,
    SCH_CRED_NO_DEFAULT_CREDS,
    SCH_CRED_NO_SERVERNAME_CHECK,
    SCH_CRED_NO_SYSTEM_MAPPER,
    SCH_CRED_REVOCATION_CHECK_CHAIN,
    SCH_CRED_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT,
    SCH_CRED_REVOCATION_CHECK_END_CERT,
    SCH_CRED_SNI_CREDENTIAL,
    SCH_CRED_SNI_ENABLE_OCSP,
    SCH_CRED_USE_DEFAULT_CREDS,
    SCH_CRED_V1,
    SCH_CRED_V2,
    SCH_CRED_V3,
    SCH_CREDENTIALS_VERSION,
    SCH_USE_STRONG_CRYPTO,
    SCHANNEL_ALERT,
    SCHANNEL_CRED_VERSION,
    SCHANNEL_NAME,
    SCHANNEL_RENEGOTIATE,
    SCHANNEL_SESSION,
    SCHANNEL_SHUTDOWN,
    SECBUFFER_ALERT,
    SECBUFFER_APP_SESSION_STATE,
    SECBUFFER_APPLICATION_PROTOCOLS,
    SECBUFFER_ATTRMASK,
    SECBUFFER_CERTIFICATE_REQUEST_CONTEXT,
    SECBUFFER_CHANGE_PASS_RESPONSE,
    SECBUFFER_CHANNEL_BINDINGS,
    SECBUFFER_CHANNEL_BINDINGS_RESULT,
    SECBUFFER_DATA,
    SECBUFFER_DTLS_MTU,
    SECBUFFER_EMPTY,
    SECBUFFER_EXTRA,
    SECBUFFER_FLAGS,
    SECBUFFER_MECHLIST,
    SECBUFFER_MECHLIST_SIGNATURE,
    SECBUFFER_MISSING,
    SECBUFFER_NEGOTIATION_INFO,
    SECBUFFER_PADDING,
    SECBUFFER_PKG_PARAMS,
    SECBUFFER_PRESHARED_KEY,
    SECBUFFER_PRESHARED_KEY_IDENTITY,
    SECBUFFER_READONLY,
    SECBUFFER_READONLY_WITH_CHECKSUM,
    SECBUFFER_RESERVED,
    SECBUFFER_SEND_GENERIC_TLS_EXTENSION,
    SECBUFFER_SESSION_TICKET,
    SECBUFFER_SRTP_MASTER_KEY_IDENTIFIER,
    SECBUFFER_SRTP_PROTECTION_PROFILES,
    SECBUFFER_STREAM,
    SECBUFFER_STREAM_HEADER,
    SECBUFFER_STREAM_TRAILER,
    SECBUFFER_SUBSCRIBE_GENERIC_TLS_EXTENSION,
    SECBUFFER_TARGET,
    SECBUFFER_TARGET_HOST,
    SECBUFFER_TOKEN,
    SECBUFFER_TOKEN_BINDING,
    SECBUFFER_TRAFFIC_SECRETS,
    SECBUFFER_VERSION,
    SECPKG_ATTR_ACCESS_TOKEN,
    SECPKG_ATTR_APP_DATA,
    SECPKG_ATTR_APPLICATION_PROTOCOL,
    SECPKG_ATTR_AUTHENTICATION_ID,
    SECPKG_ATTR_AUTHORITY,
    SECPKG_ATTR_CC_POLICY_RESULT,
    SECPKG_ATTR_CERT_CHECK_RESULT,
    SECPKG_ATTR_CERT_CHECK_RESULT_INPROC,
    SECPKG_ATTR_CIPHER_INFO,
    SECPKG_ATTR_CIPHER_STRENGTHS,
    SECPKG_ATTR_CLIENT_CERT_POLICY,
    SECPKG_ATTR_CLIENT_SPECIFIED_TARGET,
    SECPKG_ATTR_CONNECTION_INFO,
    SECPKG_ATTR_CONNECTION_INFO_EX,
    SECPKG_ATTR_CONTEXT_DELETED,
    SECPKG_ATTR_CREDENTIAL_NAME,
    SECPKG_ATTR_DCE_INFO,
    SECPKG_ATTR_DTLS_MTU,
    SECPKG_ATTR_EAP_KEY_BLOCK,
    SECPKG_ATTR_EAP_PRF_INFO,
    SECPKG_ATTR_EARLY_START,
    SECPKG_ATTR_ENDPOINT_BINDINGS,
    SECPKG_ATTR_FLAGS,
    SECPKG_ATTR_IS_LOOPBACK,
    SECPKG_ATTR_ISSUER_LIST,
    SECPKG_ATTR_ISSUER_LIST_EX,
    SECPKG_ATTR_KEY_INFO,
    SECPKG_ATTR_KEYING_MATERIAL,
    SECPKG_ATTR_KEYING_MATERIAL_INFO,
    SECPKG_ATTR_KEYING_MATERIAL_INPROC,
    SECPKG_ATTR_KEYING_MATERIAL_TOKEN_BINDING,
    SECPKG_ATTR_LAST_CLIENT_TOKEN_STATUS,
    SECPKG_ATTR_LIFESPAN,
    SECPKG_ATTR_LOCAL_CERT_CONTEXT,
    SECPKG_ATTR_LOCAL_CERT_INFO,
    SECPKG_ATTR_LOCAL_CRED,
    SECPKG_ATTR_LOGOFF_TIME,
    SECPKG_ATTR_MAPPED_CRED_ATTR,
    SECPKG_ATTR_NAMES,
    SECPKG_ATTR_NATIVE_NAMES,
    SECPKG_ATTR_NEGO_KEYS,
    SECPKG_ATTR_NEGO_PKG_INFO,
    SECPKG_ATTR_NEGO_STATUS,
    SECPKG_ATTR_NEGOTIATED_TLS_EXTENSIONS,
    SECPKG_ATTR_NEGOTIATION_INFO,
    SECPKG_ATTR_PACKAGE_INFO,
    SECPKG_ATTR_PASSWORD_EXPIRY,
    SECPKG_ATTR_PROMPTING_NEEDED,
    SECPKG_ATTR_PROTO_INFO,
    SECPKG_ATTR_REMOTE_CERT_CHAIN,
    SECPKG_ATTR_REMOTE_CERT_CONTEXT,
    SECPKG_ATTR_REMOTE_CERTIFICATES,
    SECPKG_ATTR_REMOTE_CRED,
    SECPKG_ATTR_ROOT_STORE,
    SECPKG_ATTR_SERIALIZED_REMOTE_CERT_CONTEXT,
    SECPKG_ATTR_SERIALIZED_REMOTE_CERT_CONTEXT_INPROC,
    SECPKG_ATTR_SESSION_INFO,
    SECPKG_ATTR_SESSION_KEY,
    SECPKG_ATTR_SESSION_TICKET_KEYS,
    SECPKG_ATTR_SIZES,
    SECPKG_ATTR_SRTP_PARAMETERS,
    SECPKG_ATTR_STREAM_SIZES,
    SECPKG_ATTR_SUBJECT_SECURITY_ATTRIBUTES,
    SECPKG_ATTR_SUPPORTED_ALGS,
    SECPKG_ATTR_SUPPORTED_PROTOCOLS,
    SECPKG_ATTR_SUPPORTED_SIGNATURES,
    SECPKG_ATTR_TARGET,
    SECPKG_ATTR_TARGET_INFORMATION,
    SECPKG_ATTR_TOKEN_BINDING,
    SECPKG_ATTR_UI_INFO,
    SECPKG_ATTR_UNIQUE_BINDINGS,
    SECPKG_ATTR_USE_NCRYPT,
    SECPKG_ATTR_USE_VALIDATED,
    SECPKG_ATTR_USER_FLAGS,
    SECPKG_CRED_AUTOLOGON_RESTRICTED,
    SECPKG_CRED_BOTH,
    SECPKG_CRED_DEFAULT,
    SECPKG_CRED_INBOUND,
    SECPKG_CRED_OUTBOUND,
    SECPKG_CRED_PROCESS_POLICY_ONLY,
    SECPKG_CRED_RESERVED,
    SECPKG_FLAG_ACCEPT_WIN32_NAME,
    SECPKG_FLAG_APPCONTAINER_PASSTHROUGH,
    SECPKG_FLAG_CLIENT_ONLY,
    SECPKG_FLAG_CONNECTION,
    SECPKG_FLAG_DATAGRAM,
    SECPKG_FLAG_EXTENDED_ERROR,
    SECPKG_FLAG_IMPERSONATION,
    SECPKG_FLAG_INTEGRITY,
    SECPKG_FLAG_MULTI_REQUIRED,
    SECPKG_FLAG_MUTUAL_AUTH,
    SECPKG_FLAG_PRIVACY,
    SECPKG_FLAG_STREAM,
    SECPKG_FLAG_TOKEN_ONLY,
    SECQOP_WRAP_NO_ENCRYPT,
    SECQOP_WRAP_OOB_DATA,
    SECURITY_NATIVE_DREP,
    SECURITY_NETWORK_DREP,
    SIMTLS_NAME,
    SP_PROT_DTLS1_0_CLIENT,
    SP_PROT_DTLS1_0_SERVER,
    SP_PROT_DTLS1_2_CLIENT,
    SP_PROT_DTLS1_2_SERVER,
    SP_PROT_TLS1_0_CLIENT,
    SP_PROT_TLS1_0_SERVER,
    SP_PROT_TLS1_1_CLIENT,
    SP_PROT_TLS1_1_SERVER,
    SP_PROT_TLS1_2,
    SP_PROT_TLS1_2_CLIENT,
    SP_PROT_TLS1_2_SERVER,
    SP_PROT_TLS1_3,
    SP_PROT_TLS1_3_CLIENT,
    SP_PROT_TLS1_3_SERVER,
    TLS1_ALERT_ACCESS_DENIED,
    TLS1_ALERT_BAD_CERTIFICATE,
    TLS1_ALERT_BAD_RECORD_MAC,
    TLS1_ALERT_CERTIFICATE_EXPIRED,
    TLS1_ALERT_CERTIFICATE_REQUIRED,
    TLS1_ALERT_CERTIFICATE_REVOKED,
    TLS1_ALERT_CERTIFICATE_UNKNOWN,
    TLS1_ALERT_CLOSE_NOTIFY,
    TLS1_ALERT_DECODE_ERROR,
    TLS1_ALERT_DECOMPRESSION_FAIL,
    TLS1_ALERT_DECRYPT_ERROR,
    TLS1_ALERT_DECRYPTION_FAILED,
    TLS1_ALERT_EXPORT_RESTRICTION,
    TLS1_ALERT_FATAL,
    TLS1_ALERT_HANDSHAKE_FAILURE,
    TLS1_ALERT_ILLEGAL_PARAMETER,
    TLS1_ALERT_INSUFFIENT_SECURITY,
    TLS1_ALERT_INTERNAL_ERROR,
    TLS1_ALERT_NO_APP_PROTOCOL,
    TLS1_ALERT_NO_RENEGOTIATION,
    TLS1_ALERT_PROTOCOL_VERSION,
    TLS1_ALERT_RECORD_OVERFLOW,
    TLS1_ALERT_UNEXPECTED_MESSAGE,
    TLS1_ALERT_UNKNOWN_CA,
    TLS1_ALERT_UNKNOWN_PSK_IDENTITY,
    TLS1_ALERT_UNSUPPORTED_CERT,
    TLS1_ALERT_UNSUPPORTED_EXT,
    TLS1_ALERT_USER_CANCELED,
    TLS1_ALERT_WARNING,
    UNISP_NAME,
    ImpersonationLevel,
    SecApplicationProtocolNegotiationExt_ALPN,
    SecApplicationProtocolNegotiationExt_None,
    SecApplicationProtocolNegotiationExt_NPN,
    SecApplicationProtocolNegotiationStatus_None,
    SecApplicationProtocolNegotiationStatus_SelectedClientOnly,
    SecApplicationProtocolNegotiationStatus_Success,
)
from ._flags import (
    Role as _Role,
)
from ._handles import CredHandle, CtxtHandle, SecHandle, SecInvalidateHandle, SecIsValidHandle
from ._identity import AccessToken
from ._status import (
    SEC_SUCCESS,
    STATUS_INVALID_PARAMETER,
    STATUS_PENDING,
    STATUS_SUCCESS,
    SecurityStatus,
    from_signed,
    to_signed,
)
from ._values import ULONG, TimeStamp
from .packages import PackageError as _PackageError

__all__ = (
    "ASC_REQ_ALLOCATE_MEMORY",
    "ASC_REQ_ALLOW_CONTEXT_REPLAY",
    "ASC_REQ_ALLOW_MISSING_BINDINGS",
    "ASC_REQ_ALLOW_NON_USER_LOGONS",
    "ASC_REQ_ALLOW_NULL_SESSION",
    "ASC_REQ_CALL_LEVEL",
    "ASC_REQ_CONFIDENTIALITY",
    "ASC_REQ_CONNECTION",
    "ASC_REQ_DATAGRAM",
    "ASC_REQ_DELEGATE",
    "ASC_REQ_EXPLICIT_SESSION",
    "ASC_REQ_EXTENDED_ERROR",
    "ASC_REQ_FRAGMENT_SUPPLIED",
    "ASC_REQ_FRAGMENT_TO_FIT",
    "ASC_REQ_IDENTIFY",
    "ASC_REQ_INTEGRITY",
    "ASC_REQ_LICENSING",
    "ASC_REQ_MESSAGES",
    "ASC_REQ_MUTUAL_AUTH",
    "ASC_REQ_NO_TOKEN",
    "ASC_REQ_PROXY_BINDINGS",
    "ASC_REQ_REPLAY_DETECT",
    "ASC_REQ_SEQUENCE_DETECT",
    "ASC_REQ_SESSION_TICKET",
    "ASC_REQ_STREAM",
    "ASC_REQ_USE_DCE_STYLE",
    "ASC_REQ_USE_SESSION_KEY",
    "ASC_RET_ALLOCATED_MEMORY",
    "ASC_RET_ALLOW_CONTEXT_REPLAY",
    "ASC_RET_ALLOW_NON_USER_LOGONS",
    "ASC_RET_CALL_LEVEL",
    "ASC_RET_CONFIDENTIALITY",
    "ASC_RET_CONNECTION",
    "ASC_RET_DATAGRAM",
    "ASC_RET_DELEGATE",
    "ASC_RET_EXPLICIT_SESSION",
    "ASC_RET_EXTENDED_ERROR",
    "ASC_RET_FRAGMENT_ONLY",
    "ASC_RET_IDENTIFY",
    "ASC_RET_INTEGRITY",
    "ASC_RET_LICENSING",
    "ASC_RET_MESSAGES",
    "ASC_RET_MUTUAL_AUTH",
    "ASC_RET_NO_ADDITIONAL_TOKEN",
    "ASC_RET_NO_TOKEN",
    "ASC_RET_NULL_SESSION",
    "ASC_RET_REPLAY_DETECT",
    "ASC_RET_REUSE_SESSION_TICKETS",
    "ASC_RET_SEQUENCE_DETECT",
    "ASC_RET_SESSION_TICKET",
    "ASC_RET_STREAM",
    "ASC_RET_THIRD_LEG_FAILED",
    "ASC_RET_USED_DCE_STYLE",
    "ASC_RET_USE_SESSION_KEY",
    "AcceptSecurityContext",
    "AccessToken",
    "AcquireCredentialsHandle",
    "AcquireCredentialsHandleA",
    "AcquireCredentialsHandleW",
    "ApplyControlToken",
    "CredHandle",
    "CtxtHandle",
    "DecryptMessage",
    "DeleteSecurityContext",
    "EncryptMessage",
    "EnumerateSecurityPackages",
    "EnumerateSecurityPackagesA",
    "EnumerateSecurityPackagesW",
    "FreeContextBuffer",
    "FreeCredentialsHandle",
    "ISC_REQ_ALLOCATE_MEMORY",
    "ISC_REQ_CALL_LEVEL",
    "ISC_REQ_CONFIDENTIALITY",
    "ISC_REQ_CONFIDENTIALITY_ONLY",
    "ISC_REQ_CONNECTION",
    "ISC_REQ_DATAGRAM",
    "ISC_REQ_DEFERRED_CRED_VALIDATION",
    "ISC_REQ_DELEGATE",
    "ISC_REQ_EXPLICIT_SESSION",
    "ISC_REQ_EXTENDED_ERROR",
    "ISC_REQ_FORWARD_CREDENTIALS",
    "ISC_REQ_FRAGMENT_SUPPLIED",
    "ISC_REQ_FRAGMENT_TO_FIT",
    "ISC_REQ_IDENTIFY",
    "ISC_REQ_INTEGRITY",
    "ISC_REQ_MANUAL_CRED_VALIDATION",
    "ISC_REQ_MESSAGES",
    "ISC_REQ_MUTUAL_AUTH",
    "ISC_REQ_NO_INTEGRITY",
    "ISC_REQ_NO_POST_HANDSHAKE_AUTH",
    "ISC_REQ_NULL_SESSION",
    "ISC_REQ_PROMPT_FOR_CREDS",
    "ISC_REQ_REPLAY_DETECT",
    "ISC_REQ_RESERVED1",
    "ISC_REQ_REUSE_SESSION_TICKETS",
    "ISC_REQ_SEQUENCE_DETECT",
    "ISC_REQ_STREAM",
    "ISC_REQ_UNVERIFIED_TARGET_NAME",
    "ISC_REQ_USE_DCE_STYLE",
    "ISC_REQ_USE_HTTP_STYLE",
    "ISC_REQ_USE_SESSION_KEY",
    "ISC_REQ_USE_SUPPLIED_CREDS",
    "ISC_RET_ALLOCATED_MEMORY",
    "ISC_RET_CALL_LEVEL",
    "ISC_RET_CONFIDENTIALITY",
    "ISC_RET_CONFIDENTIALITY_ONLY",
    "ISC_RET_CONNECTION",
    "ISC_RET_DATAGRAM",
    "ISC_RET_DEFERRED_CRED_VALIDATION",
    "ISC_RET_DELEGATE",
    "ISC_RET_EXPLICIT_SESSION",
    "ISC_RET_EXTENDED_ERROR",
    "ISC_RET_FORWARD_CREDENTIALS",
    "ISC_RET_FRAGMENT_ONLY",
    "ISC_RET_IDENTIFY",
    "ISC_RET_INTEGRITY",
    "ISC_RET_INTERMEDIATE_RETURN",
    "ISC_RET_MANUAL_CRED_VALIDATION",
    "ISC_RET_MESSAGES",
    "ISC_RET_MUTUAL_AUTH",
    "ISC_RET_NO_ADDITIONAL_TOKEN",
    "ISC_RET_NO_POST_HANDSHAKE_AUTH",
    "ISC_RET_NULL_SESSION",
    "ISC_RET_REAUTHENTICATION",
    "ISC_RET_REPLAY_DETECT",
    "ISC_RET_RESERVED1",
    "ISC_RET_REUSE_SESSION_TICKETS",
    "ISC_RET_SEQUENCE_DETECT",
    "ISC_RET_STREAM",
    "ISC_RET_USED_COLLECTED_CREDS",
    "ISC_RET_USED_DCE_STYLE",
    "ISC_RET_USED_HTTP_STYLE",
    "ISC_RET_USED_SUPPLIED_CREDS",
    "ISC_RET_USE_SESSION_KEY",
    "ImpersonateSecurityContext",
    "ImpersonationLevel",
    "InitializeSecurityContext",
    "InitializeSecurityContextA",
    "InitializeSecurityContextW",
    "MAX_OUTPUT_BUFFERS",
    "QueryContextAttributes",
    "QueryContextAttributesA",
    "QueryContextAttributesW",
    "QuerySecurityContextToken",
    "QuerySecurityPackageInfo",
    "QuerySecurityPackageInfoA",
    "QuerySecurityPackageInfoW",
    "RevertSecurityContext",
    "SCHANNEL_ALERT",
    "SCHANNEL_CRED_VERSION",
    "SCHANNEL_NAME",
    "SCHANNEL_RENEGOTIATE",
    "SCHANNEL_SESSION",
    "SCHANNEL_SHUTDOWN",
    "SCH_CREDENTIALS_VERSION",
    "SCH_CRED_AUTO_CRED_VALIDATION",
    "SCH_CRED_DEFERRED_CRED_VALIDATION",
    "SCH_CRED_IGNORE_NO_REVOCATION_CHECK",
    "SCH_CRED_IGNORE_REVOCATION_OFFLINE",
    "SCH_CRED_MANUAL_CRED_VALIDATION",
    "SCH_CRED_NO_DEFAULT_CREDS",
    "SCH_CRED_NO_SERVERNAME_CHECK",
    "SCH_CRED_NO_SYSTEM_MAPPER",
    "SCH_CRED_REVOCATION_CHECK_CHAIN",
    "SCH_CRED_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT",
    "SCH_CRED_REVOCATION_CHECK_END_CERT",
    "SCH_CRED_SNI_CREDENTIAL",
    "SCH_CRED_SNI_ENABLE_OCSP",
    "SCH_CRED_USE_DEFAULT_CREDS",
    "SCH_CRED_V1",
    "SCH_CRED_V2",
    "SCH_CRED_V3",
    "SCH_USE_STRONG_CRYPTO",
    "SECBUFFER_ALERT",
    "SECBUFFER_APPLICATION_PROTOCOLS",
    "SECBUFFER_APP_SESSION_STATE",
    "SECBUFFER_ATTRMASK",
    "SECBUFFER_CERTIFICATE_REQUEST_CONTEXT",
    "SECBUFFER_CHANGE_PASS_RESPONSE",
    "SECBUFFER_CHANNEL_BINDINGS",
    "SECBUFFER_CHANNEL_BINDINGS_RESULT",
    "SECBUFFER_DATA",
    "SECBUFFER_DTLS_MTU",
    "SECBUFFER_EMPTY",
    "SECBUFFER_EXTRA",
    "SECBUFFER_FLAGS",
    "SECBUFFER_MECHLIST",
    "SECBUFFER_MECHLIST_SIGNATURE",
    "SECBUFFER_MISSING",
    "SECBUFFER_NEGOTIATION_INFO",
    "SECBUFFER_PADDING",
    "SECBUFFER_PKG_PARAMS",
    "SECBUFFER_PRESHARED_KEY",
    "SECBUFFER_PRESHARED_KEY_IDENTITY",
    "SECBUFFER_READONLY",
    "SECBUFFER_READONLY_WITH_CHECKSUM",
    "SECBUFFER_RESERVED",
    "SECBUFFER_SEND_GENERIC_TLS_EXTENSION",
    "SECBUFFER_SESSION_TICKET",
    "SECBUFFER_SRTP_MASTER_KEY_IDENTIFIER",
    "SECBUFFER_SRTP_PROTECTION_PROFILES",
    "SECBUFFER_STREAM",
    "SECBUFFER_STREAM_HEADER",
    "SECBUFFER_STREAM_TRAILER",
    "SECBUFFER_SUBSCRIBE_GENERIC_TLS_EXTENSION",
    "SECBUFFER_TARGET",
    "SECBUFFER_TARGET_HOST",
    "SECBUFFER_TOKEN",
    "SECBUFFER_TOKEN_BINDING",
    "SECBUFFER_TRAFFIC_SECRETS",
    "SECBUFFER_VERSION",
    "SECPKG_ATTR_ACCESS_TOKEN",
    "SECPKG_ATTR_APPLICATION_PROTOCOL",
    "SECPKG_ATTR_APP_DATA",
    "SECPKG_ATTR_AUTHENTICATION_ID",
    "SECPKG_ATTR_AUTHORITY",
    "SECPKG_ATTR_CC_POLICY_RESULT",
    "SECPKG_ATTR_CERT_CHECK_RESULT",
    "SECPKG_ATTR_CERT_CHECK_RESULT_INPROC",
    "SECPKG_ATTR_CIPHER_INFO",
    "SECPKG_ATTR_CIPHER_STRENGTHS",
    "SECPKG_ATTR_CLIENT_CERT_POLICY",
    "SECPKG_ATTR_CLIENT_SPECIFIED_TARGET",
    "SECPKG_ATTR_CONNECTION_INFO",
    "SECPKG_ATTR_CONNECTION_INFO_EX",
    "SECPKG_ATTR_CONTEXT_DELETED",
    "SECPKG_ATTR_CREDENTIAL_NAME",
    "SECPKG_ATTR_DCE_INFO",
    "SECPKG_ATTR_DTLS_MTU",
    "SECPKG_ATTR_EAP_KEY_BLOCK",
    "SECPKG_ATTR_EAP_PRF_INFO",
    "SECPKG_ATTR_EARLY_START",
    "SECPKG_ATTR_ENDPOINT_BINDINGS",
    "SECPKG_ATTR_FLAGS",
    "SECPKG_ATTR_ISSUER_LIST",
    "SECPKG_ATTR_ISSUER_LIST_EX",
    "SECPKG_ATTR_IS_LOOPBACK",
    "SECPKG_ATTR_KEYING_MATERIAL",
    "SECPKG_ATTR_KEYING_MATERIAL_INFO",
    "SECPKG_ATTR_KEYING_MATERIAL_INPROC",
    "SECPKG_ATTR_KEYING_MATERIAL_TOKEN_BINDING",
    "SECPKG_ATTR_KEY_INFO",
    "SECPKG_ATTR_LAST_CLIENT_TOKEN_STATUS",
    "SECPKG_ATTR_LIFESPAN",
    "SECPKG_ATTR_LOCAL_CERT_CONTEXT",
    "SECPKG_ATTR_LOCAL_CERT_INFO",
    "SECPKG_ATTR_LOCAL_CRED",
    "SECPKG_ATTR_LOGOFF_TIME",
    "SECPKG_ATTR_MAPPED_CRED_ATTR",
    "SECPKG_ATTR_NAMES",
    "SECPKG_ATTR_NATIVE_NAMES",
    "SECPKG_ATTR_NEGOTIATED_TLS_EXTENSIONS",
    "SECPKG_ATTR_NEGOTIATION_INFO",
    "SECPKG_ATTR_NEGO_KEYS",
    "SECPKG_ATTR_NEGO_PKG_INFO",
    "SECPKG_ATTR_NEGO_STATUS",
    "SECPKG_ATTR_PACKAGE_INFO",
    "SECPKG_ATTR_PASSWORD_EXPIRY",
    "SECPKG_ATTR_PROMPTING_NEEDED",
    "SECPKG_ATTR_PROTO_INFO",
    "SECPKG_ATTR_REMOTE_CERTIFICATES",
    "SECPKG_ATTR_REMOTE_CERT_CHAIN",
    "SECPKG_ATTR_REMOTE_CERT_CONTEXT",
    "SECPKG_ATTR_REMOTE_CRED",
    "SECPKG_ATTR_ROOT_STORE",
    "SECPKG_ATTR_SERIALIZED_REMOTE_CERT_CONTEXT",
    "SECPKG_ATTR_SERIALIZED_REMOTE_CERT_CONTEXT_INPROC",
    "SECPKG_ATTR_SESSION_INFO",
    "SECPKG_ATTR_SESSION_KEY",
    "SECPKG_ATTR_SESSION_TICKET_KEYS",
    "SECPKG_ATTR_SIZES",
    "SECPKG_ATTR_SRTP_PARAMETERS",
    "SECPKG_ATTR_STREAM_SIZES",
    "SECPKG_ATTR_SUBJECT_SECURITY_ATTRIBUTES",
    "SECPKG_ATTR_SUPPORTED_ALGS",
    "SECPKG_ATTR_SUPPORTED_PROTOCOLS",
    "SECPKG_ATTR_SUPPORTED_SIGNATURES",
    "SECPKG_ATTR_TARGET",
    "SECPKG_ATTR_TARGET_INFORMATION",
    "SECPKG_ATTR_TOKEN_BINDING",
    "SECPKG_ATTR_UI_INFO",
    "SECPKG_ATTR_UNIQUE_BINDINGS",
    "SECPKG_ATTR_USER_FLAGS",
    "SECPKG_ATTR_USE_NCRYPT",
    "SECPKG_ATTR_USE_VALIDATED",
    "SECPKG_CRED_AUTOLOGON_RESTRICTED",
    "SECPKG_CRED_BOTH",
    "SECPKG_CRED_DEFAULT",
    "SECPKG_CRED_INBOUND",
    "SECPKG_CRED_OUTBOUND",
    "SECPKG_CRED_PROCESS_POLICY_ONLY",
    "SECPKG_CRED_RESERVED",
    "SECPKG_FLAG_ACCEPT_WIN32_NAME",
    "SECPKG_FLAG_APPCONTAINER_PASSTHROUGH",
    "SECPKG_FLAG_CLIENT_ONLY",
    "SECPKG_FLAG_CONNECTION",
    "SECPKG_FLAG_DATAGRAM",
    "SECPKG_FLAG_EXTENDED_ERROR",
    "SECPKG_FLAG_IMPERSONATION",
    "SECPKG_FLAG_INTEGRITY",
    "SECPKG_FLAG_MULTI_REQUIRED",
    "SECPKG_FLAG_MUTUAL_AUTH",
    "SECPKG_FLAG_PRIVACY",
    "SECPKG_FLAG_STREAM",
    "SECPKG_FLAG_TOKEN_ONLY",
    "SECQOP_WRAP_NO_ENCRYPT",
    "SECQOP_WRAP_OOB_DATA",
    "SECURITY_NATIVE_DREP",
    "SECURITY_NETWORK_DREP",
    "SEC_E_ALGORITHM_MISMATCH",
    "SEC_E_APPLICATION_PROTOCOL_MISMATCH",
    "SEC_E_BAD_PKGID",
    "SEC_E_BUFFER_TOO_SMALL",
    "SEC_E_CANNOT_INSTALL",
    "SEC_E_CANNOT_PACK",
    "SEC_E_CERT_EXPIRED",
    "SEC_E_CERT_UNKNOWN",
    "SEC_E_CERT_WRONG_USAGE",
    "SEC_E_CONTEXT_EXPIRED",
    "SEC_E_CRYPTO_SYSTEM_INVALID",
    "SEC_E_DECRYPT_FAILURE",
    "SEC_E_DOWNGRADE_DETECTED",
    "SEC_E_ENCRYPT_FAILURE",
    "SEC_E_EXT_BUFFER_TOO_SMALL",
    "SEC_E_ILLEGAL_MESSAGE",
    "SEC_E_INCOMPLETE_CREDENTIALS",
    "SEC_E_INCOMPLETE_MESSAGE",
    "SEC_E_INSUFFICIENT_BUFFERS",
    "SEC_E_INSUFFICIENT_MEMORY",
    "SEC_E_INTERNAL_ERROR",
    "SEC_E_INVALID_HANDLE",
    "SEC_E_INVALID_PARAMETER",
    "SEC_E_INVALID_TOKEN",
    "SEC_E_INVALID_UPN_NAME",
    "SEC_E_ISSUING_CA_UNTRUSTED",
    "SEC_E_LOGON_DENIED",
    "SEC_E_MESSAGE_ALTERED",
    "SEC_E_MUTUAL_AUTH_FAILED",
    "SEC_E_NOT_OWNER",
    "SEC_E_NOT_SUPPORTED",
    "SEC_E_NO_AUTHENTICATING_AUTHORITY",
    "SEC_E_NO_CONTEXT",
    "SEC_E_NO_CREDENTIALS",
    "SEC_E_NO_IMPERSONATION",
    "SEC_E_NO_SPM",
    "SEC_E_OK",
    "SEC_E_ONLY_HTTPS_ALLOWED",
    "SEC_E_OUT_OF_SEQUENCE",
    "SEC_E_QOP_NOT_SUPPORTED",
    "SEC_E_SECPKG_NOT_FOUND",
    "SEC_E_SECURITY_QOS_FAILED",
    "SEC_E_SHUTDOWN_IN_PROGRESS",
    "SEC_E_TARGET_UNKNOWN",
    "SEC_E_TIME_SKEW",
    "SEC_E_UNFINISHED_CONTEXT_DELETED",
    "SEC_E_UNKNOWN_CREDENTIALS",
    "SEC_E_UNSUPPORTED_FUNCTION",
    "SEC_E_UNTRUSTED_ROOT",
    "SEC_E_WRONG_CREDENTIAL_HANDLE",
    "SEC_E_WRONG_PRINCIPAL",
    "SEC_I_ASYNC_CALL_PENDING",
    "SEC_I_COMPLETE_AND_CONTINUE",
    "SEC_I_COMPLETE_NEEDED",
    "SEC_I_CONTEXT_EXPIRED",
    "SEC_I_CONTINUE_NEEDED",
    "SEC_I_CONTINUE_NEEDED_MESSAGE_OK",
    "SEC_I_GENERIC_EXTENSION_RECEIVED",
    "SEC_I_INCOMPLETE_CREDENTIALS",
    "SEC_I_LOCAL_LOGON",
    "SEC_I_MESSAGE_FRAGMENT",
    "SEC_I_NO_LSA_CONTEXT",
    "SEC_I_NO_RENEGOTIATION",
    "SEC_I_RENEGOTIATE",
    "SEC_I_SIGNATURE_NEEDED",
    "SEC_SUCCESS",
    "SIMTLS_NAME",
    "SP_PROT_DTLS1_0_CLIENT",
    "SP_PROT_DTLS1_0_SERVER",
    "SP_PROT_DTLS1_2_CLIENT",
    "SP_PROT_DTLS1_2_SERVER",
    "SP_PROT_TLS1_0_CLIENT",
    "SP_PROT_TLS1_0_SERVER",
    "SP_PROT_TLS1_1_CLIENT",
    "SP_PROT_TLS1_1_SERVER",
    "SP_PROT_TLS1_2",
    "SP_PROT_TLS1_2_CLIENT",
    "SP_PROT_TLS1_2_SERVER",
    "SP_PROT_TLS1_3",
    "SP_PROT_TLS1_3_CLIENT",
    "SP_PROT_TLS1_3_SERVER",
    "STATUS_INVALID_PARAMETER",
    "STATUS_PENDING",
    "STATUS_SUCCESS",
    "SecApplicationProtocolNegotiationExt_ALPN",
    "SecApplicationProtocolNegotiationExt_NPN",
    "SecApplicationProtocolNegotiationExt_None",
    "SecApplicationProtocolNegotiationStatus_None",
    "SecApplicationProtocolNegotiationStatus_SelectedClientOnly",
    "SecApplicationProtocolNegotiationStatus_Success",
    "SecBuffer",
    "SecBufferDesc",
    "SecHandle",
    "SecInvalidateHandle",
    "SecIsValidHandle",
    "SecPkgContext_ApplicationProtocol",
    "SecPkgContext_Bindings",
    "SecPkgContext_CipherInfo",
    "SecPkgContext_ConnectionInfo",
    "SecPkgContext_Names",
    "SecPkgContext_PackageInfo",
    "SecPkgContext_RemoteCertContext",
    "SecPkgContext_Sizes",
    "SecPkgContext_StreamSizes",
    "SecPkgInfo",
    "SecurityStatus",
    "SspiAcceptSecurityContextAsync",
    "SspiAcquireCredentialsHandleAsync",
    "SspiAcquireCredentialsHandleAsyncA",
    "SspiAcquireCredentialsHandleAsyncW",
    "SspiAsyncContext",
    "SspiAsyncContextRequiresNotify",
    "SspiCreateAsyncContext",
    "SspiDeleteSecurityContextAsync",
    "SspiError",
    "SspiFreeAsyncContext",
    "SspiFreeCredentialsHandleAsync",
    "SspiGetAsyncCallStatus",
    "SspiInitializeSecurityContextAsync",
    "SspiInitializeSecurityContextAsyncA",
    "SspiInitializeSecurityContextAsyncW",
    "SspiMisuseError",
    "SspiReinitAsyncContext",
    "SspiSetAsyncNotifyCallback",
    "TLS1_ALERT_ACCESS_DENIED",
    "TLS1_ALERT_BAD_CERTIFICATE",
    "TLS1_ALERT_BAD_RECORD_MAC",
    "TLS1_ALERT_CERTIFICATE_EXPIRED",
    "TLS1_ALERT_CERTIFICATE_REQUIRED",
    "TLS1_ALERT_CERTIFICATE_REVOKED",
    "TLS1_ALERT_CERTIFICATE_UNKNOWN",
    "TLS1_ALERT_CLOSE_NOTIFY",
    "TLS1_ALERT_DECODE_ERROR",
    "TLS1_ALERT_DECOMPRESSION_FAIL",
    "TLS1_ALERT_DECRYPTION_FAILED",
    "TLS1_ALERT_DECRYPT_ERROR",
    "TLS1_ALERT_EXPORT_RESTRICTION",
    "TLS1_ALERT_FATAL",
    "TLS1_ALERT_HANDSHAKE_FAILURE",
    "TLS1_ALERT_ILLEGAL_PARAMETER",
    "TLS1_ALERT_INSUFFIENT_SECURITY",
    "TLS1_ALERT_INTERNAL_ERROR",
    "TLS1_ALERT_NO_APP_PROTOCOL",
    "TLS1_ALERT_NO_RENEGOTIATION",
    "TLS1_ALERT_PROTOCOL_VERSION",
    "TLS1_ALERT_RECORD_OVERFLOW",
    "TLS1_ALERT_UNEXPECTED_MESSAGE",
    "TLS1_ALERT_UNKNOWN_CA",
    "TLS1_ALERT_UNKNOWN_PSK_IDENTITY",
    "TLS1_ALERT_UNSUPPORTED_CERT",
    "TLS1_ALERT_UNSUPPORTED_EXT",
    "TLS1_ALERT_USER_CANCELED",
    "TLS1_ALERT_WARNING",
    "TimeStamp",
    "ULONG",
    "UNISP_NAME",
    "current_token",
    "encode_application_protocols",
    "from_signed",
    "process_token",
    "to_signed",
    "wait_async_call",
)

# SECURITY_STATUS values under their winerror.h names (SPEC §2).
SEC_E_OK = SecurityStatus.SEC_E_OK
SEC_I_CONTINUE_NEEDED = SecurityStatus.SEC_I_CONTINUE_NEEDED
SEC_I_COMPLETE_NEEDED = SecurityStatus.SEC_I_COMPLETE_NEEDED
SEC_I_COMPLETE_AND_CONTINUE = SecurityStatus.SEC_I_COMPLETE_AND_CONTINUE
SEC_I_LOCAL_LOGON = SecurityStatus.SEC_I_LOCAL_LOGON
SEC_I_GENERIC_EXTENSION_RECEIVED = SecurityStatus.SEC_I_GENERIC_EXTENSION_RECEIVED
SEC_I_CONTEXT_EXPIRED = SecurityStatus.SEC_I_CONTEXT_EXPIRED
SEC_I_INCOMPLETE_CREDENTIALS = SecurityStatus.SEC_I_INCOMPLETE_CREDENTIALS
SEC_I_RENEGOTIATE = SecurityStatus.SEC_I_RENEGOTIATE
SEC_I_NO_LSA_CONTEXT = SecurityStatus.SEC_I_NO_LSA_CONTEXT
SEC_I_SIGNATURE_NEEDED = SecurityStatus.SEC_I_SIGNATURE_NEEDED
SEC_I_NO_RENEGOTIATION = SecurityStatus.SEC_I_NO_RENEGOTIATION
SEC_I_MESSAGE_FRAGMENT = SecurityStatus.SEC_I_MESSAGE_FRAGMENT
SEC_I_CONTINUE_NEEDED_MESSAGE_OK = SecurityStatus.SEC_I_CONTINUE_NEEDED_MESSAGE_OK
SEC_I_ASYNC_CALL_PENDING = SecurityStatus.SEC_I_ASYNC_CALL_PENDING
SEC_E_INSUFFICIENT_MEMORY = SecurityStatus.SEC_E_INSUFFICIENT_MEMORY
SEC_E_INVALID_HANDLE = SecurityStatus.SEC_E_INVALID_HANDLE
SEC_E_UNSUPPORTED_FUNCTION = SecurityStatus.SEC_E_UNSUPPORTED_FUNCTION
SEC_E_NOT_SUPPORTED = SecurityStatus.SEC_E_NOT_SUPPORTED
SEC_E_TARGET_UNKNOWN = SecurityStatus.SEC_E_TARGET_UNKNOWN
SEC_E_INTERNAL_ERROR = SecurityStatus.SEC_E_INTERNAL_ERROR
SEC_E_NO_SPM = SecurityStatus.SEC_E_NO_SPM
SEC_E_SECPKG_NOT_FOUND = SecurityStatus.SEC_E_SECPKG_NOT_FOUND
SEC_E_NOT_OWNER = SecurityStatus.SEC_E_NOT_OWNER
SEC_E_CANNOT_INSTALL = SecurityStatus.SEC_E_CANNOT_INSTALL
SEC_E_INVALID_TOKEN = SecurityStatus.SEC_E_INVALID_TOKEN
SEC_E_CANNOT_PACK = SecurityStatus.SEC_E_CANNOT_PACK
SEC_E_QOP_NOT_SUPPORTED = SecurityStatus.SEC_E_QOP_NOT_SUPPORTED
SEC_E_NO_IMPERSONATION = SecurityStatus.SEC_E_NO_IMPERSONATION
SEC_E_LOGON_DENIED = SecurityStatus.SEC_E_LOGON_DENIED
SEC_E_UNKNOWN_CREDENTIALS = SecurityStatus.SEC_E_UNKNOWN_CREDENTIALS
SEC_E_NO_CREDENTIALS = SecurityStatus.SEC_E_NO_CREDENTIALS
SEC_E_MESSAGE_ALTERED = SecurityStatus.SEC_E_MESSAGE_ALTERED
SEC_E_OUT_OF_SEQUENCE = SecurityStatus.SEC_E_OUT_OF_SEQUENCE
SEC_E_NO_AUTHENTICATING_AUTHORITY = SecurityStatus.SEC_E_NO_AUTHENTICATING_AUTHORITY
SEC_E_BAD_PKGID = SecurityStatus.SEC_E_BAD_PKGID
SEC_E_CONTEXT_EXPIRED = SecurityStatus.SEC_E_CONTEXT_EXPIRED
SEC_E_INCOMPLETE_MESSAGE = SecurityStatus.SEC_E_INCOMPLETE_MESSAGE
SEC_E_INCOMPLETE_CREDENTIALS = SecurityStatus.SEC_E_INCOMPLETE_CREDENTIALS
SEC_E_BUFFER_TOO_SMALL = SecurityStatus.SEC_E_BUFFER_TOO_SMALL
SEC_E_WRONG_PRINCIPAL = SecurityStatus.SEC_E_WRONG_PRINCIPAL
SEC_E_TIME_SKEW = SecurityStatus.SEC_E_TIME_SKEW
SEC_E_UNTRUSTED_ROOT = SecurityStatus.SEC_E_UNTRUSTED_ROOT
SEC_E_ILLEGAL_MESSAGE = SecurityStatus.SEC_E_ILLEGAL_MESSAGE
SEC_E_CERT_UNKNOWN = SecurityStatus.SEC_E_CERT_UNKNOWN
SEC_E_CERT_EXPIRED = SecurityStatus.SEC_E_CERT_EXPIRED
SEC_E_ENCRYPT_FAILURE = SecurityStatus.SEC_E_ENCRYPT_FAILURE
SEC_E_DECRYPT_FAILURE = SecurityStatus.SEC_E_DECRYPT_FAILURE
SEC_E_ALGORITHM_MISMATCH = SecurityStatus.SEC_E_ALGORITHM_MISMATCH
SEC_E_SECURITY_QOS_FAILED = SecurityStatus.SEC_E_SECURITY_QOS_FAILED
SEC_E_UNFINISHED_CONTEXT_DELETED = SecurityStatus.SEC_E_UNFINISHED_CONTEXT_DELETED
SEC_E_WRONG_CREDENTIAL_HANDLE = SecurityStatus.SEC_E_WRONG_CREDENTIAL_HANDLE
SEC_E_CRYPTO_SYSTEM_INVALID = SecurityStatus.SEC_E_CRYPTO_SYSTEM_INVALID
SEC_E_SHUTDOWN_IN_PROGRESS = SecurityStatus.SEC_E_SHUTDOWN_IN_PROGRESS
SEC_E_CERT_WRONG_USAGE = SecurityStatus.SEC_E_CERT_WRONG_USAGE
SEC_E_DOWNGRADE_DETECTED = SecurityStatus.SEC_E_DOWNGRADE_DETECTED
SEC_E_ISSUING_CA_UNTRUSTED = SecurityStatus.SEC_E_ISSUING_CA_UNTRUSTED
SEC_E_INVALID_PARAMETER = SecurityStatus.SEC_E_INVALID_PARAMETER
SEC_E_NO_CONTEXT = SecurityStatus.SEC_E_NO_CONTEXT
SEC_E_MUTUAL_AUTH_FAILED = SecurityStatus.SEC_E_MUTUAL_AUTH_FAILED
SEC_E_ONLY_HTTPS_ALLOWED = SecurityStatus.SEC_E_ONLY_HTTPS_ALLOWED
SEC_E_APPLICATION_PROTOCOL_MISMATCH = SecurityStatus.SEC_E_APPLICATION_PROTOCOL_MISMATCH
SEC_E_INVALID_UPN_NAME = SecurityStatus.SEC_E_INVALID_UPN_NAME
SEC_E_EXT_BUFFER_TOO_SMALL = SecurityStatus.SEC_E_EXT_BUFFER_TOO_SMALL
SEC_E_INSUFFICIENT_BUFFERS = SecurityStatus.SEC_E_INSUFFICIENT_BUFFERS


# --------------------------------------------------------------------------- translation

_Result = TypeVar("_Result")


def _translate(function: Callable[..., _Result]) -> Callable[..., _Result]:
    """The one place exceptions become statuses (DESIGN "Errors"): a package refusal or an
    ``SspiError`` (not misuse) is returned as its status; misuse and ``TypeError`` propagate."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> _Result:
        try:
            return function(*args, **kwargs)
        except SspiMisuseError:
            raise
        except (SspiError, _PackageError) as exc:
            return exc.status  # type: ignore[return-value]

    return wrapper


def _actx_check(handle: object, function: str) -> None:
    if handle is not None and not isinstance(handle, SspiAsyncContext):
        raise TypeError(
            f"{function}: Handle must be an SspiAsyncContext or None, not {type(handle).__name__}"
        )


# --------------------------------------------------------------------------- async context (A1–A13)


async def SspiCreateAsyncContext() -> SspiAsyncContext:
    """Create an async context (A1: its status is ``SEC_E_UNSUPPORTED_FUNCTION``)."""
    return _current_emulator().create_async_context()


async def SspiFreeAsyncContext(Handle: SspiAsyncContext | None) -> None:
    """Free an async context (A11). ``None`` does nothing; freeing one whose call is pending with
    a callback, or whose callback is still due, raises ``SspiMisuseError``."""
    _actx_check(Handle, "SspiFreeAsyncContext")
    if Handle is not None:
        Handle._emulator.free(Handle)


async def SspiReinitAsyncContext(Handle: SspiAsyncContext | None) -> int:
    """Mark a completed context for reuse (A9); returns an NTSTATUS."""
    _actx_check(Handle, "SspiReinitAsyncContext")
    if Handle is None:
        return STATUS_INVALID_PARAMETER
    return Handle._emulator.reinit(Handle)


async def SspiSetAsyncNotifyCallback(
    Context: SspiAsyncContext | None, Callback: Callback | None, CallbackData: object = None
) -> int:
    """Register ``Callback(Context, CallbackData)`` (A2). It runs once per queued call, scheduled
    on the event loop after completion (A6); a coroutine function is accepted."""
    _actx_check(Context, "SspiSetAsyncNotifyCallback")
    if Context is None:
        return SecurityStatus.SEC_E_INVALID_PARAMETER
    return Context._emulator.set_callback(Context, Callback, CallbackData)


async def SspiAsyncContextRequiresNotify(AsyncContext: SspiAsyncContext | None) -> bool:
    """True exactly when a callback is registered (A3)."""
    _actx_check(AsyncContext, "SspiAsyncContextRequiresNotify")
    if AsyncContext is None:
        return False
    return AsyncContext._emulator.requires_notify(AsyncContext)


async def SspiGetAsyncCallStatus(Handle: SspiAsyncContext | None) -> int:
    """The status of the current call; ``SEC_I_ASYNC_CALL_PENDING`` until it completes (A8)."""
    _actx_check(Handle, "SspiGetAsyncCallStatus")
    if Handle is None:
        return SecurityStatus.SEC_E_INVALID_PARAMETER
    return Handle._emulator.call_status(Handle)


async def wait_async_call(Handle: SspiAsyncContext | None) -> int:
    """Python extension (A13): wait for the current call to complete and return its result."""
    _actx_check(Handle, "wait_async_call")
    if Handle is None:
        return SecurityStatus.SEC_E_INVALID_PARAMETER
    return await Handle._emulator.wait(Handle)


async def SspiAcquireCredentialsHandleAsync(
    AsyncContext: SspiAsyncContext | None,
    pszPrincipal: str | None,
    pszPackage: str | None,
    fCredentialUse: int,
    pvLogonId: object = None,
    pAuthData: object = None,
    pGetKeyFn: object = None,
    pvGetKeyArgument: object = None,
    phCredential: CredHandle | None = None,
    ptsExpiry: Any = None,
) -> int:
    """Queue AcquireCredentialsHandle; returns the queueing status (A4). ``pvLogonId``,
    ``pGetKeyFn`` and ``pvGetKeyArgument`` are ignored, as Schannel ignores them."""
    _actx_check(AsyncContext, "SspiAcquireCredentialsHandleAsync")
    return _acquire_async(
        AsyncContext, pszPrincipal, pszPackage, fCredentialUse, pAuthData, phCredential, ptsExpiry
    )


async def SspiInitializeSecurityContextAsync(
    AsyncContext: SspiAsyncContext | None,
    phCredential: CredHandle | None,
    phContext: CtxtHandle | None,
    pszTargetName: str | None,
    fContextReq: int,
    Reserved1: int,
    TargetDataRep: int,
    pInput: SecBufferDesc | None,
    Reserved2: int,
    phNewContext: CtxtHandle | None,
    pOutput: SecBufferDesc | None,
    pfContextAttr: Any,
    ptsExpiry: Any = None,
) -> int:
    """Queue InitializeSecurityContext (the client side); returns the queueing status (A4)."""
    _actx_check(AsyncContext, "SspiInitializeSecurityContextAsync")
    _check_int("TargetDataRep", TargetDataRep)
    return _context_async(
        _Role.CLIENT,
        AsyncContext,
        phCredential,
        phContext,
        pszTargetName,
        fContextReq,
        Reserved1,
        pInput,
        Reserved2,
        phNewContext,
        pOutput,
        pfContextAttr,
        ptsExpiry,
    )


async def SspiAcceptSecurityContextAsync(
    AsyncContext: SspiAsyncContext | None,
    phCredential: CredHandle | None,
    phContext: CtxtHandle | None,
    pInput: SecBufferDesc | None,
    fContextReq: int,
    TargetDataRep: int,
    phNewContext: CtxtHandle | None,
    pOutput: SecBufferDesc | None,
    pfContextAttr: Any,
    ptsExpiry: Any = None,
) -> int:
    """Queue AcceptSecurityContext (the server side); returns the queueing status (A4)."""
    _actx_check(AsyncContext, "SspiAcceptSecurityContextAsync")
    _check_int("TargetDataRep", TargetDataRep)
    return _context_async(
        _Role.SERVER,
        AsyncContext,
        phCredential,
        phContext,
        None,
        fContextReq,
        0,
        pInput,
        0,
        phNewContext,
        pOutput,
        pfContextAttr,
        ptsExpiry,
    )


async def SspiDeleteSecurityContextAsync(
    AsyncContext: SspiAsyncContext | None, phContext: CtxtHandle | None
) -> int:
    """Queue DeleteSecurityContext; completes ``SEC_E_OK`` or ``SEC_E_INVALID_HANDLE`` (T13)."""
    _actx_check(AsyncContext, "SspiDeleteSecurityContextAsync")
    return _delete_async(AsyncContext, phContext)


async def SspiFreeCredentialsHandleAsync(
    AsyncContext: SspiAsyncContext | None, phCredential: CredHandle | None
) -> int:
    """Queue FreeCredentialsHandle; completes ``SEC_E_OK`` or ``SEC_E_INVALID_HANDLE`` (C4)."""
    _actx_check(AsyncContext, "SspiFreeCredentialsHandleAsync")
    return _free_credentials_async(AsyncContext, phCredential)


SspiAcquireCredentialsHandleAsyncA = SspiAcquireCredentialsHandleAsync
SspiAcquireCredentialsHandleAsyncW = SspiAcquireCredentialsHandleAsync
SspiInitializeSecurityContextAsyncA = SspiInitializeSecurityContextAsync
SspiInitializeSecurityContextAsyncW = SspiInitializeSecurityContextAsync


# --------------------------------------------------------------------------- classic functions (§5)


@_translate
def AcquireCredentialsHandle(
    pszPrincipal: str | None,
    pszPackage: str | None,
    fCredentialUse: int,
    pvLogonId: object = None,
    pAuthData: object = None,
    pGetKeyFn: object = None,
    pvGetKeyArgument: object = None,
    phCredential: CredHandle | None = None,
    ptsExpiry: Any = None,
) -> int:
    """Acquire a credential handle (C1–C3)."""
    return _current_emulator().engine.acquire_credentials(
        pszPrincipal, pszPackage, fCredentialUse, pAuthData, phCredential, ptsExpiry
    )


def _finish(outcome: int | _StepJob) -> int:
    if isinstance(outcome, _StepJob):
        return outcome.finish(outcome.run())
    return outcome


@_translate
def InitializeSecurityContext(
    phCredential: CredHandle | None,
    phContext: CtxtHandle | None,
    pszTargetName: str | None,
    fContextReq: int,
    Reserved1: int,
    TargetDataRep: int,
    pInput: SecBufferDesc | None,
    Reserved2: int,
    phNewContext: CtxtHandle | None,
    pOutput: SecBufferDesc | None,
    pfContextAttr: Any,
    ptsExpiry: Any = None,
) -> int:
    """One client handshake step (T1–T12), on the caller's thread."""
    _check_int("Reserved1", Reserved1)
    _check_int("TargetDataRep", TargetDataRep)
    _check_int("Reserved2", Reserved2)
    if Reserved1 or Reserved2:
        return SecurityStatus.SEC_E_INVALID_PARAMETER
    engine = _current_emulator().engine
    return _finish(
        engine.security_context(
            _Role.CLIENT,
            phCredential,
            phContext,
            pszTargetName,
            fContextReq,
            pInput,
            phNewContext,
            pOutput,
            pfContextAttr,
            ptsExpiry,
        )
    )


@_translate
def AcceptSecurityContext(
    phCredential: CredHandle | None,
    phContext: CtxtHandle | None,
    pInput: SecBufferDesc | None,
    fContextReq: int,
    TargetDataRep: int,
    phNewContext: CtxtHandle | None,
    pOutput: SecBufferDesc | None,
    pfContextAttr: Any,
    ptsExpiry: Any = None,
) -> int:
    """One server handshake step (T1–T14), on the caller's thread."""
    _check_int("TargetDataRep", TargetDataRep)
    engine = _current_emulator().engine
    return _finish(
        engine.security_context(
            _Role.SERVER,
            phCredential,
            phContext,
            None,
            fContextReq,
            pInput,
            phNewContext,
            pOutput,
            pfContextAttr,
            ptsExpiry,
        )
    )


@_translate
def DeleteSecurityContext(phContext: CtxtHandle | None) -> int:
    """Delete a context (T13); the handle is invalid afterwards."""
    return _current_emulator().engine.delete_context(phContext)


@_translate
def FreeCredentialsHandle(phCredential: CredHandle | None) -> int:
    """Free a credential handle (C4); contexts built on it keep working."""
    return _current_emulator().engine.free_credentials(phCredential)


@_translate
def EncryptMessage(
    phContext: CtxtHandle | None, fQOP: int, pMessage: SecBufferDesc | None, MessageSeqNo: int = 0
) -> int:
    """Protect ``[STREAM_HEADER, DATA, STREAM_TRAILER, EMPTY]`` as one record (M1)."""
    return _encrypt_message(_current_emulator().engine, phContext, fQOP, pMessage, MessageSeqNo)


@_translate
def DecryptMessage(
    phContext: CtxtHandle | None,
    pMessage: SecBufferDesc | None,
    MessageSeqNo: int = 0,
    pfQOP: Any = None,
) -> int:
    """Unprotect one record (M2)."""
    return _decrypt_message(_current_emulator().engine, phContext, pMessage, MessageSeqNo, pfQOP)


@_translate
def QueryContextAttributes(
    phContext: CtxtHandle | None, ulAttribute: int
) -> tuple[int, object | None]:
    """Query a context attribute (M3): ``(status, value)``."""
    return _query_attributes(_current_emulator().engine, phContext, ulAttribute)


@_translate
def ApplyControlToken(phContext: CtxtHandle | None, pInput: SecBufferDesc | None) -> int:
    """Apply SCHANNEL_SHUTDOWN or an SCHANNEL_ALERT_TOKEN (M4)."""
    return _current_emulator().engine.apply_control_token(phContext, pInput)


def FreeContextBuffer(pvContextBuffer: object) -> int:
    """Release a package-allocated buffer (M5); twice, or a foreign object, is ``SspiMisuseError``."""
    _allocations.free(pvContextBuffer)
    return SecurityStatus.SEC_E_OK


@_translate
def ImpersonateSecurityContext(phContext: CtxtHandle | None) -> int:
    """Act as the client of a complete server context in this task (I1, I3, I4)."""
    return _current_emulator().engine.impersonate(phContext)


@_translate
def RevertSecurityContext(phContext: CtxtHandle | None) -> int:
    """Return this task to the process token (I2)."""
    return _current_emulator().engine.revert(phContext)


@_translate
def QuerySecurityContextToken(phContext: CtxtHandle | None) -> tuple[int, AccessToken | None]:
    """The client's access token (I3, I4)."""
    return _current_emulator().engine.query_token(phContext)


def EnumerateSecurityPackages() -> tuple[int, list[SecPkgInfo]]:
    """Every registered package (SPEC §8)."""
    return SecurityStatus.SEC_E_OK, [entry.info for entry in _list_packages()]


def QuerySecurityPackageInfo(pszPackageName: str | None) -> tuple[int, SecPkgInfo | None]:
    """One package's info; unknown → ``SEC_E_SECPKG_NOT_FOUND``."""
    _check_optional("pszPackageName", pszPackageName, str)
    entry = _find_package(pszPackageName)
    if entry is None:
        return SecurityStatus.SEC_E_SECPKG_NOT_FOUND, None
    return SecurityStatus.SEC_E_OK, entry.info


AcquireCredentialsHandleA = AcquireCredentialsHandleW = AcquireCredentialsHandle
InitializeSecurityContextA = InitializeSecurityContextW = InitializeSecurityContext
QueryContextAttributesA = QueryContextAttributesW = QueryContextAttributes
EnumerateSecurityPackagesA = EnumerateSecurityPackagesW = EnumerateSecurityPackages
QuerySecurityPackageInfoA = QuerySecurityPackageInfoW = QuerySecurityPackageInfo
