"""Public names imported on first use (PEP 562), for the package ``__init__`` modules.

``import sspi_async`` happens in every pytest run wherever sspi_async is installed (the plugin is
an entry point), so the packages bind their public names lazily: the emulator's dependencies
(pydantic, anyio, cryptography: ~0.4 s) load when a name is first used, not at import.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ("lazy_names",)


def lazy_names(
    package: str, where: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level ``__getattr__`` and ``__dir__`` for ``package``, whose public names live
    in the (relative) modules ``where`` maps them to. A name is imported once, then kept in the
    package's namespace; an unknown one raises ``AttributeError`` as usual."""
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:  # noqa: N807 - the PEP 562 hook
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:  # noqa: N807 - the PEP 562 hook
        return sorted({*namespace, *namespace.get("__all__", ())})

    return __getattr__, __dir__
