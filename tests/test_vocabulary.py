"""SPEC §2: every constant of reference §4–§5 is exported under its Win32 name with its value, and
the status helpers behave as specified. The tables are re-read from the reference itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import sspi_async.sspi as sspi
from sspi_async.sspi import (
    SEC_E_INVALID_TOKEN,
    SEC_E_OK,
    SEC_I_ASYNC_CALL_PENDING,
    SEC_SUCCESS,
    CredHandle,
    CtxtHandle,
    SecBuffer,
    SecBufferDesc,
    SecHandle,
    SecInvalidateHandle,
    SecIsValidHandle,
    SecurityStatus,
    TimeStamp,
    from_signed,
    to_signed,
)

REFERENCE = (
    Path(__file__).resolve().parents[2] / "shared" / "reference" / "sspi-api-and-schannel.md"
)


def _rows(text: str) -> list[list[str]]:
    return [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("|") and not line.startswith("|--")
    ]


def _section(text: str, start: str, end: str) -> str:
    i = text.index(start)
    return text[i : text.index(end, i)]


def _reference_values() -> dict[str, int]:
    if not REFERENCE.exists():
        pytest.skip(
            f"the reference tables are read from {REFERENCE}, which is not beside this checkout"
        )
    text = REFERENCE.read_text()
    values: dict[str, int] = {}
    for row in _rows(_section(text, "## 4. SECURITY_STATUS", "## 5. Constants")):
        if row[0] != "Name":
            values[row[0].strip("*")] = int(re.match(r"\**(0x[0-9A-Fa-f]+)", row[1]).group(1), 16)  # type: ignore[union-attr]
    for row in _rows(_section(text, "### 5.1 SecBuffer types", "Attribute bits")):
        if row[0] != "Name":
            values[row[0]] = int(row[1].split()[0])
    for row in _rows(_section(text, "### 5.5 SECPKG_ATTR_", "Structures:")):
        if row[0] != "Name":
            values["SECPKG_ATTR_" + row[0].strip("*")] = int(row[1].replace("*", "").split()[0], 0)
    for row in _rows(_section(text, "- Alert descriptions:", "- Credential versions")):
        if row[0] != "Name":
            values["TLS1_ALERT_" + row[0].split()[0]] = int(row[1])
    for start, end in (
        ("- Protocol bits:", "- Credential flags:"),
        ("- Credential flags:", "## 6."),
    ):
        for row in _rows(_section(text, start, end)):
            if row[0] != "Name":
                values[row[0]] = int(row[1], 16)
    for prefix, start, end in (
        ("ISC", "### 5.3 ISC_REQ", "### 5.4"),
        ("ASC", "### 5.4 ASC_REQ", "Note that the ISC"),
    ):
        for flag, req, _ret in _rows(_section(text, start, end)):
            if flag != "Flag" and not flag.startswith("RET ") and req != "—":
                values[f"{prefix}_REQ_{flag.split(' / ')[0].strip()}"] = int(req, 16)
    return values


def test_every_reference_constant_is_exported_with_its_value() -> None:
    """SPEC §2: each SEC_*, SECBUFFER_*, ISC/ASC_REQ_*, SECPKG_ATTR_*, TLS1_ALERT_*, SP_PROT_* and
    SCH_CRED_* name of the reference is in sspi_async.sspi with the same value."""
    expected = _reference_values()
    assert len(expected) > 250
    wrong = {
        name: (getattr(sspi, name, None), value)
        for name, value in expected.items()
        if getattr(sspi, name, None) != value
    }
    assert not wrong, f"(exported, reference) mismatches: {wrong}"


def test_fixed_names_and_values() -> None:
    """SPEC §2: the remaining named values."""
    assert sspi.STATUS_SUCCESS == 0
    assert sspi.STATUS_INVALID_PARAMETER == 0xC000000D
    assert sspi.UNISP_NAME == "Microsoft Unified Security Protocol Provider"
    assert sspi.SCHANNEL_NAME == "Schannel"
    assert (sspi.SECPKG_CRED_INBOUND, sspi.SECPKG_CRED_OUTBOUND, sspi.SECPKG_CRED_BOTH) == (1, 2, 3)
    assert (sspi.SECURITY_NATIVE_DREP, sspi.SECURITY_NETWORK_DREP) == (0x10, 0)
    assert (sspi.SCHANNEL_RENEGOTIATE, sspi.SCHANNEL_SHUTDOWN, sspi.SCHANNEL_ALERT) == (0, 1, 2)
    assert sspi.SECBUFFER_VERSION == 0
    assert sspi.ISC_RET_ALLOCATED_MEMORY == 0x100
    assert sspi.ASC_RET_EXTENDED_ERROR == 0x8000


def test_statuses_are_unsigned_and_print_by_name() -> None:
    """SPEC §2: unsigned winerror values in an IntEnum that prints by name."""
    assert SEC_E_INVALID_TOKEN == 0x80090308
    assert isinstance(SEC_E_INVALID_TOKEN, SecurityStatus)
    assert str(SEC_E_INVALID_TOKEN) == "SEC_E_INVALID_TOKEN"
    assert repr(SEC_I_ASYNC_CALL_PENDING).startswith("<SecurityStatus.SEC_I_ASYNC_CALL_PENDING")


def test_signed_conversions_and_sec_success() -> None:
    """SPEC §2: to_signed/from_signed match pywin32's LONG form; SEC_SUCCESS is s < 0x80000000."""
    assert to_signed(0x80090308) == -2146893048
    assert from_signed(-2146893048) == 0x80090308
    assert to_signed(SEC_I_ASYNC_CALL_PENDING) == 0x00090368
    assert SEC_SUCCESS(SEC_E_OK)
    assert SEC_SUCCESS(SEC_I_ASYNC_CALL_PENDING)
    assert not SEC_SUCCESS(SEC_E_INVALID_TOKEN)


def test_handles_start_invalid_and_compare_by_fields() -> None:
    """SPEC §2: default handles are invalid (2**64 - 1); equality is by fields."""
    handle = CtxtHandle()
    assert (handle.dwLower, handle.dwUpper) == (2**64 - 1, 2**64 - 1)
    assert not SecIsValidHandle(handle)
    handle.dwLower, handle.dwUpper = 5, 6
    assert SecIsValidHandle(handle)
    assert handle == SecHandle(5, 6)
    assert handle != CredHandle(5, 7)
    SecInvalidateHandle(handle)
    assert not SecIsValidHandle(handle)


def test_buffers_and_time_stamps() -> None:
    """SPEC §2: SecBuffer fields, SecBufferDesc.cBuffers, TimeStamp.datetime."""
    buf = SecBuffer(sspi.SECBUFFER_TOKEN, 3, bytearray(b"abcdef"))
    assert buf.data() == b"abc"
    desc = SecBufferDesc([buf, SecBuffer(sspi.SECBUFFER_EMPTY)])
    assert desc.cBuffers == 2
    assert desc.ulVersion == sspi.SECBUFFER_VERSION
    assert TimeStamp(0).datetime.year == 1601
    assert TimeStamp(116444736000000000).datetime.isoformat() == "1970-01-01T00:00:00+00:00"
