"""TLS alerts and SECURITY_STATUS codes (L2), shared by every TLS-framed package (SPEC T11).

Two directions, two tables:

* :data:`RECEIVED_ALERT_STATUS` — the status a context ends with when the **peer** sends a fatal
  alert (RFC 8446 §6.2 descriptions). :func:`status_for_received_alert` adds the fallback.
* :data:`ALERT_FOR_STATUS` — the alert description the **local** side sends when its own step
  fails with a status. :func:`alert_for_status` returns ``None`` when no alert goes out.

The two are deliberately not inverses: TLS has one alert for several local failures and Schannel
has one status for several alerts. Where the tables pick between near-equivalents the comment on
the entry says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from .._flags import (
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
    TLS1_ALERT_HANDSHAKE_FAILURE,
    TLS1_ALERT_ILLEGAL_PARAMETER,
    TLS1_ALERT_INSUFFIENT_SECURITY,
    TLS1_ALERT_INTERNAL_ERROR,
    TLS1_ALERT_NO_APP_PROTOCOL,
    TLS1_ALERT_PROTOCOL_VERSION,
    TLS1_ALERT_RECORD_OVERFLOW,
    TLS1_ALERT_UNEXPECTED_MESSAGE,
    TLS1_ALERT_UNKNOWN_CA,
    TLS1_ALERT_UNKNOWN_PSK_IDENTITY,
    TLS1_ALERT_UNSUPPORTED_CERT,
    TLS1_ALERT_UNSUPPORTED_EXT,
)
from .._status import SecurityStatus as S

__all__ = (
    "ALERT_FOR_STATUS",
    "ALERT_INAPPROPRIATE_FALLBACK",
    "ALERT_MISSING_EXTENSION",
    "ALERT_UNRECOGNIZED_NAME",
    "ALERT_BAD_CERTIFICATE_STATUS_RESPONSE",
    "RECEIVED_ALERT_STATUS",
    "alert_for_status",
    "status_for_received_alert",
)

# RFC 8446 / RFC 7507 / RFC 6066 descriptions that schannel.h has no TLS1_ALERT_* name for.
ALERT_INAPPROPRIATE_FALLBACK: Final = 86
ALERT_MISSING_EXTENSION: Final = 109
ALERT_UNRECOGNIZED_NAME: Final = 112
ALERT_BAD_CERTIFICATE_STATUS_RESPONSE: Final = 113

RECEIVED_ALERT_STATUS: Final[Mapping[int, int]] = MappingProxyType(
    {
        # The peer closed during the handshake: the context can never complete.
        TLS1_ALERT_CLOSE_NOTIFY: S.SEC_E_CONTEXT_EXPIRED,
        TLS1_ALERT_UNEXPECTED_MESSAGE: S.SEC_E_ILLEGAL_MESSAGE,
        TLS1_ALERT_BAD_RECORD_MAC: S.SEC_E_MESSAGE_ALTERED,
        TLS1_ALERT_DECRYPTION_FAILED: S.SEC_E_DECRYPT_FAILURE,
        TLS1_ALERT_RECORD_OVERFLOW: S.SEC_E_ILLEGAL_MESSAGE,
        TLS1_ALERT_DECOMPRESSION_FAIL: S.SEC_E_ILLEGAL_MESSAGE,
        # No common parameters: Schannel's "client and server cannot communicate" status.
        TLS1_ALERT_HANDSHAKE_FAILURE: S.SEC_E_ALGORITHM_MISMATCH,
        TLS1_ALERT_BAD_CERTIFICATE: S.SEC_E_CERT_UNKNOWN,
        TLS1_ALERT_UNSUPPORTED_CERT: S.SEC_E_CERT_UNKNOWN,
        # Schannel has no "revoked" SECURITY_STATUS of its own (CRYPT_E_REVOKED is a CryptoAPI
        # code); CERT_UNKNOWN is the closest status in the SEC_E_ family.
        TLS1_ALERT_CERTIFICATE_REVOKED: S.SEC_E_CERT_UNKNOWN,
        TLS1_ALERT_CERTIFICATE_EXPIRED: S.SEC_E_CERT_EXPIRED,
        TLS1_ALERT_CERTIFICATE_UNKNOWN: S.SEC_E_CERT_UNKNOWN,
        TLS1_ALERT_ILLEGAL_PARAMETER: S.SEC_E_ILLEGAL_MESSAGE,
        TLS1_ALERT_UNKNOWN_CA: S.SEC_E_UNTRUSTED_ROOT,
        # The peer refused our identity: the authentication failure status (SPEC §4 SimTLS
        # semantics and T14 rely on access_denied arriving as LOGON_DENIED).
        TLS1_ALERT_ACCESS_DENIED: S.SEC_E_LOGON_DENIED,
        TLS1_ALERT_DECODE_ERROR: S.SEC_E_ILLEGAL_MESSAGE,
        TLS1_ALERT_DECRYPT_ERROR: S.SEC_E_DECRYPT_FAILURE,
        TLS1_ALERT_EXPORT_RESTRICTION: S.SEC_E_ALGORITHM_MISMATCH,
        # The peer does not speak our version: Schannel reports an unsupported protocol this way.
        TLS1_ALERT_PROTOCOL_VERSION: S.SEC_E_UNSUPPORTED_FUNCTION,
        TLS1_ALERT_INSUFFIENT_SECURITY: S.SEC_E_ALGORITHM_MISMATCH,
        TLS1_ALERT_INTERNAL_ERROR: S.SEC_E_INTERNAL_ERROR,
        ALERT_INAPPROPRIATE_FALLBACK: S.SEC_E_DOWNGRADE_DETECTED,
        ALERT_MISSING_EXTENSION: S.SEC_E_ILLEGAL_MESSAGE,
        TLS1_ALERT_UNSUPPORTED_EXT: S.SEC_E_ILLEGAL_MESSAGE,
        # The server does not know the name we asked for (SNI): the target is unknown to it.
        ALERT_UNRECOGNIZED_NAME: S.SEC_E_TARGET_UNKNOWN,
        ALERT_BAD_CERTIFICATE_STATUS_RESPONSE: S.SEC_E_CERT_UNKNOWN,
        # A PSK the server does not know is a failed logon, like access_denied.
        TLS1_ALERT_UNKNOWN_PSK_IDENTITY: S.SEC_E_LOGON_DENIED,
        # The server wanted a client certificate we did not send. SEC_E_INCOMPLETE_CREDENTIALS
        # would name the cause better, but Schannel returns that only *before* sending a flight;
        # once the server has refused us the handshake is over, so it is a failed logon (T14).
        TLS1_ALERT_CERTIFICATE_REQUIRED: S.SEC_E_LOGON_DENIED,
        TLS1_ALERT_NO_APP_PROTOCOL: S.SEC_E_APPLICATION_PROTOCOL_MISMATCH,
    }
)

ALERT_FOR_STATUS: Final[Mapping[int, int]] = MappingProxyType(
    {
        S.SEC_E_LOGON_DENIED: TLS1_ALERT_ACCESS_DENIED,
        # RFC 8446 §6.2: a Finished (or signature) that does not verify is decrypt_error.
        S.SEC_E_MUTUAL_AUTH_FAILED: TLS1_ALERT_DECRYPT_ERROR,
        S.SEC_E_WRONG_PRINCIPAL: TLS1_ALERT_BAD_CERTIFICATE,
        S.SEC_E_CERT_UNKNOWN: TLS1_ALERT_CERTIFICATE_UNKNOWN,
        S.SEC_E_CERT_EXPIRED: TLS1_ALERT_CERTIFICATE_EXPIRED,
        S.SEC_E_CERT_WRONG_USAGE: TLS1_ALERT_UNSUPPORTED_CERT,
        S.SEC_E_UNTRUSTED_ROOT: TLS1_ALERT_UNKNOWN_CA,
        S.SEC_E_ISSUING_CA_UNTRUSTED: TLS1_ALERT_UNKNOWN_CA,
        # A well-formed record carrying the wrong message. Malformed message bodies deserve
        # decode_error, but the status alone cannot tell the two apart; packages that know send
        # decode_error themselves.
        S.SEC_E_ILLEGAL_MESSAGE: TLS1_ALERT_UNEXPECTED_MESSAGE,
        S.SEC_E_OUT_OF_SEQUENCE: TLS1_ALERT_UNEXPECTED_MESSAGE,
        # SEC_E_INVALID_TOKEN is deliberately absent: it means the bytes were not a TLS record at
        # all, and Schannel answers such garbage with an empty output (T5, Wine case 19).
        S.SEC_E_MESSAGE_ALTERED: TLS1_ALERT_BAD_RECORD_MAC,
        # A record that fails to decrypt is bad_record_mac in TLS 1.2+ (decryption_failed is
        # obsolete and must not be sent, RFC 5246 §7.2.2).
        S.SEC_E_DECRYPT_FAILURE: TLS1_ALERT_BAD_RECORD_MAC,
        S.SEC_E_APPLICATION_PROTOCOL_MISMATCH: TLS1_ALERT_NO_APP_PROTOCOL,
        S.SEC_E_ALGORITHM_MISMATCH: TLS1_ALERT_HANDSHAKE_FAILURE,
        # Used by TLS packages when the peer offers only protocol versions we do not enable.
        S.SEC_E_UNSUPPORTED_FUNCTION: TLS1_ALERT_PROTOCOL_VERSION,
        S.SEC_E_DOWNGRADE_DETECTED: ALERT_INAPPROPRIATE_FALLBACK,
        S.SEC_E_TARGET_UNKNOWN: ALERT_UNRECOGNIZED_NAME,
        S.SEC_E_INCOMPLETE_CREDENTIALS: TLS1_ALERT_CERTIFICATE_REQUIRED,
        S.SEC_E_INTERNAL_ERROR: TLS1_ALERT_INTERNAL_ERROR,
        S.SEC_E_ENCRYPT_FAILURE: TLS1_ALERT_INTERNAL_ERROR,
    }
)


def status_for_received_alert(description: int) -> int:
    """The SECURITY_STATUS a context fails with when the peer sends alert ``description``.

    Unknown descriptions give ``SEC_E_ILLEGAL_MESSAGE``, Schannel's catch-all for a handshake the
    peer broke off.
    """
    return RECEIVED_ALERT_STATUS.get(description, S.SEC_E_ILLEGAL_MESSAGE)


def alert_for_status(status: int) -> int | None:
    """The alert description the local side sends when it fails with ``status``.

    ``None`` when the status is not one TLS answers with an alert (success codes, buffer and
    handle errors, and ``SEC_E_INVALID_TOKEN``, see T5).
    """
    return ALERT_FOR_STATUS.get(status & 0xFFFFFFFF)
