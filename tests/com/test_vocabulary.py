"""The COM vocabulary: every HRESULT of reference §1's table under its winerror.h name and value,
and the RPC/EOAC constants of §3 (re-read from the reference itself)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import sspi_async.com as com
from sspi_async.com import HResult, Win32Error, hresult_name

REFERENCE = (
    Path(__file__).resolve().parents[3] / "shared" / "reference" / "impersonation-and-com-async.md"
)


def _hresult_rows() -> list[tuple[str, int]]:
    """(name, value) rows of the §1 "Relevant HRESULTs" table (S_OK / S_FALSE share a row); none
    when the reference is not beside this checkout (the tests that need it then skip)."""
    if not REFERENCE.exists():
        return []
    text = REFERENCE.read_text()
    section = text[text.index("Relevant HRESULTs") : text.index("## 2. COM asynchronous calls")]
    rows = []
    for line in section.splitlines():
        cells = [c.strip(" *") for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[1].startswith("0x"):
            continue
        names = [n.strip() for n in cells[0].split("/")]
        values = [int(v.strip(" *"), 16) for v in cells[1].split("/")]
        rows += list(zip(names, values, strict=True))
    return rows


ROWS = _hresult_rows()


def test_the_reference_table_was_read() -> None:
    """The parser found the whole table (it can fail: a reference edit would show up here)."""
    if not REFERENCE.exists():
        pytest.skip(
            f"the HRESULT table is read from {REFERENCE}, which is not beside this checkout"
        )
    names = [name for name, _ in ROWS]
    assert len(ROWS) >= 17
    assert {"S_OK", "E_FAIL", "RPC_E_CALL_COMPLETE", "CO_E_CANCEL_DISABLED"} <= set(names)


_NO_REFERENCE = pytest.param(
    "", 0, marks=pytest.mark.skip(reason=f"{REFERENCE} is not beside this checkout"), id="none"
)


@pytest.mark.parametrize(
    ("name", "value"), ROWS or [_NO_REFERENCE], ids=[name for name, _ in ROWS] or None
)
def test_hresult_values_match_the_reference(name: str, value: int) -> None:
    """Reference §1: each HRESULT has the winerror.h value, exported from sspi_async.com."""
    assert int(HResult[name]) == value
    assert getattr(com, name) == value
    assert hresult_name(value) == name
    assert str(HResult[name]) == name


def test_other_hresults_and_win32_errors() -> None:
    """Values the table does not list: winerror.h (MS-ERREF) and §3.2 (1346, 1347)."""
    assert HResult.RPC_E_SERVERFAULT == 0x80010105
    assert HResult.RPC_E_DISCONNECTED == 0x80010108
    assert HResult.E_UNEXPECTED == 0x8000FFFF
    assert Win32Error.ERROR_BAD_IMPERSONATION_LEVEL == 1346
    assert Win32Error.ERROR_CANT_OPEN_ANONYMOUS == 1347
    assert Win32Error.ERROR_NO_TOKEN == 1008
    assert hresult_name(0x12345678) == "0x12345678"
    assert hresult_name(-2147467259) == "E_FAIL"  # the signed form of 0x80004005


def test_rpc_and_eoac_constants_match_reference_section_3() -> None:
    """§3.1: RPC_C_IMP_LEVEL_x = SecurityX + 1; §3.3: the EOAC cloaking flags."""
    if not REFERENCE.exists():
        pytest.skip(f"the constants are read from {REFERENCE}, which is not beside this checkout")
    text = REFERENCE.read_text()
    for name in ("DEFAULT", "ANONYMOUS", "IDENTIFY", "IMPERSONATE", "DELEGATE"):
        match = re.search(rf"\| RPC_C_IMP_LEVEL_{name} \| (\d) \|", text)
        assert match is not None, name
        assert getattr(com, f"RPC_C_IMP_LEVEL_{name}") == int(match.group(1))
    assert (com.EOAC_STATIC_CLOAKING, com.EOAC_DYNAMIC_CLOAKING) == (0x20, 0x40)
    assert str(com.IID_IServerSecurity).upper() == "0000013E-0000-0000-C000-000000000046"
