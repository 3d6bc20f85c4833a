"""Context attributes every TLS-framed package reports (T9, case 27).

Final attributes are ``REPLAY_DETECT|SEQUENCE_DETECT|CONFIDENTIALITY|STREAM`` (client 0x801C,
server 0x1001C) plus the RET bit of each honoured REQ flag. Flags accumulate over the calls of one
context, as case 27 shows (later calls passing only USE_SUPPLIED_CREDS still report the whole).
"""

from __future__ import annotations

from typing import Final

from .._flags import (
    ASC_REQ_EXTENDED_ERROR,
    ASC_RET_CONFIDENTIALITY,
    ASC_RET_EXTENDED_ERROR,
    ASC_RET_REPLAY_DETECT,
    ASC_RET_SEQUENCE_DETECT,
    ASC_RET_STREAM,
    ISC_REQ_EXTENDED_ERROR,
    ISC_REQ_IDENTIFY,
    ISC_REQ_MANUAL_CRED_VALIDATION,
    ISC_REQ_MUTUAL_AUTH,
    ISC_REQ_USE_SUPPLIED_CREDS,
    ISC_RET_CONFIDENTIALITY,
    ISC_RET_EXTENDED_ERROR,
    ISC_RET_IDENTIFY,
    ISC_RET_MANUAL_CRED_VALIDATION,
    ISC_RET_MUTUAL_AUTH,
    ISC_RET_REPLAY_DETECT,
    ISC_RET_SEQUENCE_DETECT,
    ISC_RET_STREAM,
    ISC_RET_USED_SUPPLIED_CREDS,
    Role,
)

__all__ = ("base_attributes", "honoured_attributes")

CLIENT_BASE: Final = (
    ISC_RET_REPLAY_DETECT | ISC_RET_SEQUENCE_DETECT | ISC_RET_CONFIDENTIALITY | ISC_RET_STREAM
)
SERVER_BASE: Final = (
    ASC_RET_REPLAY_DETECT | ASC_RET_SEQUENCE_DETECT | ASC_RET_CONFIDENTIALITY | ASC_RET_STREAM
)

#: REQ bit -> RET bit for the flags a TLS package honours.
_CLIENT_HONOURED: Final = (
    (ISC_REQ_EXTENDED_ERROR, ISC_RET_EXTENDED_ERROR),
    (ISC_REQ_USE_SUPPLIED_CREDS, ISC_RET_USED_SUPPLIED_CREDS),
    (ISC_REQ_MANUAL_CRED_VALIDATION, ISC_RET_MANUAL_CRED_VALIDATION),
    (ISC_REQ_MUTUAL_AUTH, ISC_RET_MUTUAL_AUTH),
    (ISC_REQ_IDENTIFY, ISC_RET_IDENTIFY),
)
# ASC_RET_MUTUAL_AUTH is granted only once a client proved who it is (see StepJob.finish).
_SERVER_HONOURED: Final = ((ASC_REQ_EXTENDED_ERROR, ASC_RET_EXTENDED_ERROR),)


def base_attributes(role: Role) -> int:
    """The attributes every TLS context has."""
    return CLIENT_BASE if role is Role.CLIENT else SERVER_BASE


def honoured_attributes(role: Role, requested: int) -> int:
    """The RET bits of the REQ bits in ``requested`` that the package honours."""
    table = _CLIENT_HONOURED if role is Role.CLIENT else _SERVER_HONOURED
    granted = 0
    for req, ret in table:
        if requested & req:
            granted |= ret
    return granted
