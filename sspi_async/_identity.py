"""Access tokens (L1): who a task is acting as (SPEC §7).

An :class:`AccessToken` is immutable data. Which token is in force for the running task is the
emulator's business (``sspi_async._core._impersonation``); this module only describes tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._flags import ImpersonationLevel

__all__ = ("AccessToken",)


@dataclass(frozen=True, slots=True)
class AccessToken:
    """An emulated Windows access token.

    Attributes:
        user: the account name (SimTLS: the client's principal).
        groups: group names the account belongs to.
        level: the impersonation level (``SecurityImpersonation`` for a process token).
        source: the security package that produced it (``None`` for the process token).
        is_process: True for the server's own (process) token.
    """

    user: str
    groups: tuple[str, ...] = ()
    level: ImpersonationLevel = ImpersonationLevel.SecurityImpersonation
    source: str | None = None
    is_process: bool = False
