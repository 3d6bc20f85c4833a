"""The security package registry (SPEC §8).

Packages are found by name, case-insensitively, as Windows does. Built in: ``"Schannel"`` (also
under ``UNISP_NAME``, "Microsoft Unified Security Protocol Provider") and ``"SimTLS"``. Others
come from :func:`register_package` or the entry-point group ``sspi_async.packages`` (each entry
point names a zero-argument factory returning a ``SecurityPackage``), loaded on first lookup.

A package may come with an *auth model*: a pydantic model class whose instances (or dicts that
validate into it) are the accepted ``pAuthData``. The model's ``to_package()``, if it has one,
turns the validated data into the plain value the sans-IO package reads.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points

from pydantic import BaseModel, ValidationError

from .._attributes import SecPkgInfo
from .._flags import SCHANNEL_NAME, SIMTLS_NAME, UNISP_NAME
from ..packages import SecurityPackage
from ..packages.schannel import SchannelPackage
from ..packages.simtls import SimTLSPackage
from ._config import SimTLSCred, describe_validation_error
from ._schannel_cred import SchannelCred

__all__ = (
    "PackageEntry",
    "RejectedAuthDataError",
    "find_package",
    "list_packages",
    "register_package",
)

ENTRY_POINT_GROUP = "sspi_async.packages"


class RejectedAuthDataError(Exception):
    """``pAuthData`` does not validate into the package's model (→ SEC_E_UNKNOWN_CREDENTIALS)."""


@dataclass(slots=True)
class PackageEntry:
    """A registered package: the instance, its model for auth data, and its id in handles."""

    package: SecurityPackage
    auth_model: type[BaseModel] | None
    package_id: int
    names: tuple[str, ...] = field(default=())

    info: SecPkgInfo = field(init=False)
    #: The package's optional ``judges_headers`` (SPEC §8): its ``decrypt`` may be handed a
    #: record's header before the body arrived (E4).
    judges_headers: bool = field(init=False)

    def __post_init__(self) -> None:
        self.judges_headers = bool(getattr(self.package, "judges_headers", False))
        # EnumerateSecurityPackages shows the name the package is registered (and found) under.
        self.info = (
            dataclasses.replace(self.package.info, Name=self.names[0])
            if self.names
            else self.package.info
        )

    def shape_auth_data(self, auth_data: object | None) -> object | None:
        """Validate ``auth_data`` against the auth model and convert it for the package."""
        model = self.auth_model
        if auth_data is None or model is None:
            return auth_data
        if isinstance(auth_data, dict):
            try:
                auth_data = model.model_validate(auth_data)
            except ValidationError as exc:
                raise RejectedAuthDataError(describe_validation_error(exc)) from exc
            except ValueError as exc:  # our models wrap ValidationError in ConfigurationError
                raise RejectedAuthDataError(str(exc)) from exc
        if not isinstance(auth_data, model):
            raise RejectedAuthDataError(
                f"pAuthData for {self.info.Name} must be a {model.__name__} or a dict, not {type(auth_data).__name__}"
            )
        to_package = getattr(auth_data, "to_package", None)
        return to_package() if callable(to_package) else auth_data


_lock = threading.Lock()
_packages: dict[str, PackageEntry] = {}
_entry_points_loaded = False


def register_package(
    name: str,
    factory: Callable[[], SecurityPackage],
    *,
    auth_model: type[BaseModel] | None = None,
    aliases: tuple[str, ...] = (),
) -> None:
    """Make a security package available under ``name`` (and ``aliases``).

    Args:
        name: the package name callers pass as ``pszPackage``.
        factory: called once, now, to build the package.
        auth_model: optional pydantic model that ``pAuthData`` must validate into.
        aliases: further names for the same package.

    Raises:
        TypeError: ``factory`` did not return something with the ``SecurityPackage`` shape.
        ValueError: a package is already registered under one of the names.
    """
    if not isinstance(name, str) or not name:
        raise TypeError("name must be a non-empty str")
    package = factory()
    if not isinstance(package, SecurityPackage):
        raise TypeError(
            f"factory for {name!r} returned {type(package).__name__}, which lacks the SecurityPackage "
            "methods (info, tls_framed, offload, acquire_credentials, new_context)"
        )
    names = (name, *aliases)
    with _lock:
        taken = [n for n in names if n.lower() in _packages]
        if taken:
            raise ValueError(f"a security package is already registered as {taken[0]!r}")
        entry = PackageEntry(
            package, auth_model, len({id(e) for e in _packages.values()}) + 1, names
        )
        for n in names:
            _packages[n.lower()] = entry


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name.lower() not in _packages:
            register_package(ep.name, ep.load())


def find_package(name: object) -> PackageEntry | None:
    """The package registered as ``name`` (case-insensitive), or None (C1)."""
    if not isinstance(name, str):
        return None
    entry = _packages.get(name.lower())
    if entry is None and not _entry_points_loaded:
        _load_entry_points()
        entry = _packages.get(name.lower())
    return entry


def list_packages() -> list[PackageEntry]:
    """Every registered package, once each, in registration order."""
    _load_entry_points()
    seen: dict[int, PackageEntry] = {}
    for entry in _packages.values():
        seen.setdefault(id(entry), entry)
    return list(seen.values())


register_package(SCHANNEL_NAME, SchannelPackage, auth_model=SchannelCred, aliases=(UNISP_NAME,))
register_package(SIMTLS_NAME, SimTLSPackage, auth_model=SimTLSCred)
