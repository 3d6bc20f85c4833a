"""Runtime options of the COM emulation: the "(choice)" knobs of reference §8.1."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from .._core._impersonation import Nesting

__all__ = ("ComOptions", "ErrorStyle", "Nesting")

ErrorStyle = Literal["observed", "documented"]


@dataclass(frozen=True, slots=True)
class ComOptions:
    """How the runtime behaves where Windows leaves room.

    Attributes:
        nesting: ``"apartment"`` (default): a nested call starts at the process token and the
            outer token comes back when it returns (I10/R10). ``"traditional"``: one slot, the
            last impersonation wins (R11).
        error_style: what ``ImpersonateClient`` returns after ``Signal`` (I8/R6):
            ``"observed"`` (default) ``RPC_E_CALL_COMPLETE``, as Wine and MS-ERREF describe;
            ``"documented"`` ``E_FAIL``, the only failure the method's page lists.
        strict_worker_revert: retire a worker task's impersonation when its call completes
            (R9, default False: it lasts until that task reverts or ends, as the 1998 COM spec
            says). Either way such an impersonation raises a ``ResourceWarning`` at completion.
    """

    nesting: Nesting = "apartment"
    error_style: ErrorStyle = "observed"
    strict_worker_revert: bool = False

    def __post_init__(self) -> None:
        if self.nesting not in get_args(Nesting):
            raise ValueError(f"nesting must be 'apartment' or 'traditional', not {self.nesting!r}")
        if self.error_style not in get_args(ErrorStyle):
            raise ValueError(
                f"error_style must be 'observed' or 'documented', not {self.error_style!r}"
            )
