"""The one exception of the COM emulation (its Win32-named methods return HRESULT ints)."""

from __future__ import annotations

from .._errors import SspiError
from ._hresults import HResult, hresult_name

__all__ = ("ComError",)


class ComError(SspiError):
    """A Pythonic COM helper failed (``ss.impersonated()``...); ``.hresult`` says why."""

    default_status = HResult.E_FAIL

    def __init__(self, message: str, hresult: int) -> None:
        super().__init__(message, hresult)
        self.hresult = hresult

    def __str__(self) -> str:
        return f"{self.args[0]} ({hresult_name(self.hresult)})"
