"""An emulated securable object and the level-gated operations of a server (I3, I11; R14).

What a server can do as its client depends on the level of the token in force
(``current_token()``):

=================  ===========  ==============  =============  ===============
operation          ANONYMOUS    IDENTIFY        IMPERSONATE    DELEGATE
=================  ===========  ==============  =============  ===============
``access_check``   yes (as      yes             yes            yes
                   ANONYMOUS
                   LOGON)
``open_as_client`` 1346         1346            yes            yes
``open_thread_     1347         yes if          yes            yes
token``                         ``open_as_self``
``get_user_name``  1347         1346            yes            yes
=================  ===========  ==============  =============  ===============

(1346 ``ERROR_BAD_IMPERSONATION_LEVEL``, 1347 ``ERROR_CANT_OPEN_ANONYMOUS``.) The process token is
a primary token: it opens whatever its DACL entries allow. A :class:`Securable`'s DACL is a list
of :class:`Ace` evaluated in order as Windows does (a deny for any still-wanted bit denies; allows
accumulate); access rights are plain bits (no generic mapping, choice).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .._core._impersonation import current_token, is_impersonating
from .._flags import ImpersonationLevel
from .._identity import AccessToken
from ._hresults import Win32Error

__all__ = ("EVERYONE", "Ace", "OpenedObject", "Securable", "get_user_name", "open_thread_token")

#: The group every non-anonymous token belongs to.
EVERYONE = "Everyone"


@dataclass(frozen=True, slots=True)
class Ace:
    """One access-control entry: ``principal`` (a user or group) is allowed/denied ``mask``."""

    principal: str
    mask: int
    allow: bool = True


@dataclass(frozen=True, slots=True)
class OpenedObject:
    """A handle to a securable opened as someone."""

    name: str
    user: str
    granted: int


def _principals(token: AccessToken) -> set[str]:
    names = {token.user, *token.groups}
    if token.level is not ImpersonationLevel.SecurityAnonymous:
        names.add(EVERYONE)
    return names


class Securable:
    """An emulated object with a DACL (a file, a registry key...).

    Args:
        name: its name (for handles and messages).
        dacl: ``{principal: mask}`` (all allow) or an iterable of :class:`Ace` in order.
    """

    def __init__(self, name: str, dacl: Mapping[str, int] | Iterable[Ace]) -> None:
        self.name = name
        if isinstance(dacl, Mapping):
            self.dacl: tuple[Ace, ...] = tuple(Ace(who, mask) for who, mask in dacl.items())
        else:
            self.dacl = tuple(dacl)
        for ace in self.dacl:
            if not isinstance(ace, Ace):
                raise TypeError(f"a DACL holds Ace entries, not {type(ace).__name__}")

    def access_check(self, token: AccessToken, desired: int) -> int:
        """``AccessCheck``: ``ERROR_SUCCESS`` when ``token`` gets every bit of ``desired``, else
        ``ERROR_ACCESS_DENIED``. Works at any level (R14), with the token's own identity."""
        who = _principals(token)
        wanted = desired  # the bits not granted yet
        for ace in self.dacl:
            if not wanted:
                break
            if ace.principal not in who:
                continue
            if not ace.allow and ace.mask & wanted:
                return Win32Error.ERROR_ACCESS_DENIED
            if ace.allow:
                wanted &= ~ace.mask
        return Win32Error.ERROR_ACCESS_DENIED if wanted else Win32Error.ERROR_SUCCESS

    def open_as_client(self, desired: int) -> tuple[int, OpenedObject | None]:
        """Open the object as the token in force (``CreateFile`` while impersonating).

        ``ERROR_BAD_IMPERSONATION_LEVEL`` below IMPERSONATE (I3/R14), ``ERROR_ACCESS_DENIED``
        when the DACL says no, else ``(ERROR_SUCCESS, handle)``.
        """
        token = current_token()
        if not token.is_process and token.level < ImpersonationLevel.SecurityImpersonation:
            return Win32Error.ERROR_BAD_IMPERSONATION_LEVEL, None
        status = self.access_check(token, desired)
        if status != Win32Error.ERROR_SUCCESS:
            return status, None
        return Win32Error.ERROR_SUCCESS, OpenedObject(self.name, token.user, desired)

    def __repr__(self) -> str:
        return f"<Securable {self.name!r} {len(self.dacl)} ACEs>"


def open_thread_token(open_as_self: bool = True) -> tuple[int, AccessToken | None]:
    """``OpenThreadToken``: the impersonation token in force (R14).

    ``ERROR_NO_TOKEN`` when not impersonating, ``ERROR_CANT_OPEN_ANONYMOUS`` at ANONYMOUS, and at
    IDENTIFY ``ERROR_BAD_IMPERSONATION_LEVEL`` unless ``open_as_self`` (reference §3.2).
    """
    if not is_impersonating():
        return Win32Error.ERROR_NO_TOKEN, None
    token = current_token()
    if token.level is ImpersonationLevel.SecurityAnonymous:
        return Win32Error.ERROR_CANT_OPEN_ANONYMOUS, None
    if token.level is ImpersonationLevel.SecurityIdentification and not open_as_self:
        return Win32Error.ERROR_BAD_IMPERSONATION_LEVEL, None
    return Win32Error.ERROR_SUCCESS, token


def get_user_name() -> tuple[int, str | None]:
    """``GetUserName`` as the token in force: it fails while impersonating at IDENTIFY (1346) or
    ANONYMOUS (1347, choice: it has to open the token) (R14)."""
    token = current_token()
    if token.level is ImpersonationLevel.SecurityAnonymous:
        return Win32Error.ERROR_CANT_OPEN_ANONYMOUS, None
    if token.level is ImpersonationLevel.SecurityIdentification:
        return Win32Error.ERROR_BAD_IMPERSONATION_LEVEL, None
    return Win32Error.ERROR_SUCCESS, token.user
