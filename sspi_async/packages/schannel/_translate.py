"""``ssl.SSLError`` → SECURITY_STATUS: the one place the Schannel package translates OpenSSL.

Three kinds of failure reach us (SPEC T10, T11, T14):

* certificate verification (:class:`ssl.SSLCertVerificationError`), mapped by OpenSSL's
  ``X509_V_ERR_*`` code: expired or not yet valid → ``SEC_E_CERT_EXPIRED``, wrong host →
  ``SEC_E_WRONG_PRINCIPAL``, an issuer we do not trust → ``SEC_E_UNTRUSTED_ROOT``;
* an alert the peer sent (OpenSSL reason ``SSLV3_ALERT_*``/``TLSV1_ALERT_*``/``TLSV13_ALERT_*``),
  mapped through the shared alert table (:func:`~.._alerts.status_for_received_alert`);
* a local protocol failure, mapped by reason name below; unknown reasons are protocol violations
  (``SEC_E_ILLEGAL_MESSAGE``).

The reason name is ``SSLError.reason``. CPython fills it from a table built from the OpenSSL it was
released with, so a newer reason (``TLSV1_ALERT_NO_APPLICATION_PROTOCOL`` on CPython 3.11, say)
comes with ``reason=None`` and only OpenSSL's text in the message (``"[SSL] tlsv1 alert no
application protocol (_ssl.c:1006)"``). OpenSSL's reason texts are the reason names in lower case
with spaces, so the name is recovered from the text.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from ..._status import SecurityStatus as S
from .._alerts import status_for_received_alert

__all__ = ("ALERT_REASONS", "reason_name", "status_for_ssl_error")

#: OpenSSL's reason names for received alerts → the alert description (RFC 8446 §6).
ALERT_REASONS: Final[Mapping[str, int]] = MappingProxyType(
    {
        "SSLV3_ALERT_UNEXPECTED_MESSAGE": 10,
        "SSLV3_ALERT_BAD_RECORD_MAC": 20,
        "TLSV1_ALERT_DECRYPTION_FAILED": 21,
        "TLSV1_ALERT_RECORD_OVERFLOW": 22,
        "SSLV3_ALERT_DECOMPRESSION_FAILURE": 30,
        "SSLV3_ALERT_HANDSHAKE_FAILURE": 40,
        "SSLV3_ALERT_NO_CERTIFICATE": 41,
        "SSLV3_ALERT_BAD_CERTIFICATE": 42,
        "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE": 43,
        "SSLV3_ALERT_CERTIFICATE_REVOKED": 44,
        "SSLV3_ALERT_CERTIFICATE_EXPIRED": 45,
        "SSLV3_ALERT_CERTIFICATE_UNKNOWN": 46,
        "SSLV3_ALERT_ILLEGAL_PARAMETER": 47,
        "TLSV1_ALERT_UNKNOWN_CA": 48,
        "TLSV1_ALERT_ACCESS_DENIED": 49,
        "TLSV1_ALERT_DECODE_ERROR": 50,
        "TLSV1_ALERT_DECRYPT_ERROR": 51,
        "TLSV1_ALERT_EXPORT_RESTRICTION": 60,
        "TLSV1_ALERT_PROTOCOL_VERSION": 70,
        "TLSV1_ALERT_INSUFFICIENT_SECURITY": 71,
        "TLSV1_ALERT_INTERNAL_ERROR": 80,
        "TLSV1_ALERT_INAPPROPRIATE_FALLBACK": 86,
        "TLSV1_ALERT_USER_CANCELLED": 90,
        "TLSV1_ALERT_NO_RENEGOTIATION": 100,
        "TLSV13_ALERT_MISSING_EXTENSION": 109,
        "TLSV1_ALERT_UNSUPPORTED_EXTENSION": 110,
        "TLSV1_UNRECOGNIZED_NAME": 112,
        "TLSV1_BAD_CERTIFICATE_STATUS_RESPONSE": 113,
        "TLSV1_ALERT_UNKNOWN_PSK_IDENTITY": 115,
        "TLSV13_ALERT_CERTIFICATE_REQUIRED": 116,
        "TLSV1_ALERT_NO_APPLICATION_PROTOCOL": 120,
    }
)

#: X509_V_ERR_* codes (openssl/x509_vfy.h) with a more specific status than UNTRUSTED_ROOT.
_VERIFY_STATUS: Final[Mapping[int, int]] = MappingProxyType(
    {
        9: S.SEC_E_CERT_EXPIRED,  # CERT_NOT_YET_VALID: CERT_E_EXPIRED covers "not in validity"
        10: S.SEC_E_CERT_EXPIRED,  # CERT_HAS_EXPIRED
        13: S.SEC_E_CERT_UNKNOWN,  # ERROR_IN_CERT_NOT_BEFORE_FIELD
        14: S.SEC_E_CERT_UNKNOWN,  # ERROR_IN_CERT_NOT_AFTER_FIELD
        23: S.SEC_E_CERT_UNKNOWN,  # CERT_REVOKED (CRYPT_E_REVOKED is not a SEC_E_ code)
        26: S.SEC_E_CERT_WRONG_USAGE,  # INVALID_PURPOSE
        62: S.SEC_E_WRONG_PRINCIPAL,  # HOSTNAME_MISMATCH
        63: S.SEC_E_WRONG_PRINCIPAL,  # EMAIL_MISMATCH
        64: S.SEC_E_WRONG_PRINCIPAL,  # IP_ADDRESS_MISMATCH
    }
)

#: Local failures by OpenSSL reason name.
_REASON_STATUS: Final[Mapping[str, int]] = MappingProxyType(
    {
        "NO_SHARED_CIPHER": S.SEC_E_ALGORITHM_MISMATCH,
        "NO_CIPHERS_AVAILABLE": S.SEC_E_ALGORITHM_MISMATCH,
        "NO_SUITABLE_KEY_SHARE": S.SEC_E_ALGORITHM_MISMATCH,
        "NO_SHARED_GROUPS": S.SEC_E_ALGORITHM_MISMATCH,
        "NO_SUITABLE_SIGNATURE_ALGORITHM": S.SEC_E_ALGORITHM_MISMATCH,
        "NO_SHARED_SIGNATURE_ALGORITHMS": S.SEC_E_ALGORITHM_MISMATCH,
        # The peer speaks only versions we do not enable: the status .NET users know as "the
        # function requested is not supported" (matches the protocol_version alert entry).
        "UNSUPPORTED_PROTOCOL": S.SEC_E_UNSUPPORTED_FUNCTION,
        "WRONG_VERSION_NUMBER": S.SEC_E_UNSUPPORTED_FUNCTION,
        "VERSION_TOO_LOW": S.SEC_E_UNSUPPORTED_FUNCTION,
        "VERSION_TOO_HIGH": S.SEC_E_UNSUPPORTED_FUNCTION,
        "NO_APPLICATION_PROTOCOL": S.SEC_E_APPLICATION_PROTOCOL_MISMATCH,
        # T14: the server required a client certificate and got none.
        "PEER_DID_NOT_RETURN_A_CERTIFICATE": S.SEC_E_LOGON_DENIED,
        "DECRYPTION_FAILED_OR_BAD_RECORD_MAC": S.SEC_E_MESSAGE_ALTERED,
        "DECRYPTION_FAILED": S.SEC_E_DECRYPT_FAILURE,
        "BAD_DECRYPT": S.SEC_E_DECRYPT_FAILURE,
        # A Finished or CertificateVerify that does not verify: the peer's proof failed.
        "DIGEST_CHECK_FAILED": S.SEC_E_DECRYPT_FAILURE,
        "BAD_SIGNATURE": S.SEC_E_DECRYPT_FAILURE,
        "CERTIFICATE_VERIFY_FAILED": S.SEC_E_UNTRUSTED_ROOT,
        "SHUTDOWN_WHILE_IN_INIT": S.SEC_E_CONTEXT_EXPIRED,
        "PROTOCOL_IS_SHUTDOWN": S.SEC_E_CONTEXT_EXPIRED,
    }
)


#: ``"[SSL] tlsv1 alert no application protocol (_ssl.c:1006)"``: the text CPython gives when it
#: does not know the reason's name.
_UNNAMED_REASON: Final = re.compile(r"^\[[A-Z0-9_]*\] ([a-z0-9 ]+) \(_ssl\.c:\d+\)$")


def reason_name(exc: ssl.SSLError) -> str:
    """OpenSSL's reason name for ``exc`` (``""`` when there is none), see the module docstring."""
    reason = getattr(exc, "reason", None)  # absent on an SSLError built in Python
    if reason:
        return str(reason)
    text = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], str) else ""
    match = _UNNAMED_REASON.match(text)
    return match.group(1).upper().replace(" ", "_") if match else ""


#: Version refusals that mean "we do not speak that protocol" during the handshake; in a record
#: after it, the same reasons are a malformed record: a protocol violation (M2, T11).
_VERSION_REASONS: Final = frozenset(
    {"UNSUPPORTED_PROTOCOL", "WRONG_VERSION_NUMBER", "VERSION_TOO_LOW", "VERSION_TOO_HIGH"}
)


def status_for_ssl_error(exc: ssl.SSLError, *, established: bool = False) -> int:
    """The SECURITY_STATUS a context fails with for ``exc`` (never a success code);
    ``established``: the error came from a record after the handshake (DecryptMessage)."""
    if established and reason_name(exc) in _VERSION_REASONS:
        return S.SEC_E_ILLEGAL_MESSAGE
    if isinstance(exc, ssl.SSLCertVerificationError):
        return _VERIFY_STATUS.get(getattr(exc, "verify_code", 0), S.SEC_E_UNTRUSTED_ROOT)
    if isinstance(exc, ssl.SSLZeroReturnError):
        return S.SEC_E_CONTEXT_EXPIRED  # close_notify during the handshake
    reason = reason_name(exc)
    description = ALERT_REASONS.get(reason)
    if description is not None:
        return status_for_received_alert(description)
    return _REASON_STATUS.get(reason, S.SEC_E_ILLEGAL_MESSAGE)
