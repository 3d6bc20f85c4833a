"""DESIGN "Layers": imports point down only, and the lower layers stay sans-IO.

L0 vocabulary → L1 plain data → L2 sans-IO packages → L3 emulator (_core) → L4 facades. A module
may import its own layer or lower ones; packages (and L0/L1) never import asyncio, anyio,
structlog, pydantic or anything that reads a clock, logs or starts threads.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "sspi_async"

L0 = {"sspi_async._status", "sspi_async._flags", "sspi_async._errors", "sspi_async._machine"}
L1 = {
    "sspi_async._buffers",
    "sspi_async._handles",
    "sspi_async._attributes",
    "sspi_async._identity",
    "sspi_async._values",
}
FORBIDDEN_BELOW_L3 = {
    "asyncio",
    "anyio",
    "structlog",
    "pydantic",
    "time",
    "logging",
    "threading",
    "random",
    "socket",
    "selectors",
}
CLOCK_CALLS = {"now", "utcnow", "today", "monotonic", "perf_counter", "time_ns"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> int:
    """The layer of a module of the package (0–4)."""
    if module in L0:
        return 0
    if module in L1:
        return 1
    if module.startswith("sspi_async.packages"):
        return 2
    if module.startswith("sspi_async._core"):
        return 3
    return 4


def _imports(path: Path) -> list[tuple[str, int]]:
    """(absolute module imported, line) for every import in the file."""
    package = _module_name(path)
    if path.name != "__init__.py":
        package = package.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((target, node.lineno))
            # "from . import x" names submodules too
            found += [
                (f"{target}.{alias.name}", node.lineno)
                for alias in node.names
                if (ROOT.parent / Path(*f"{target}.{alias.name}".split(".")))
                .with_suffix(".py")
                .exists()
            ]
    return found


MODULES = sorted(ROOT.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT.parent)))
def test_imports_point_down(path: Path) -> None:
    """DESIGN: no module imports a higher layer of sspi_async."""
    here = _module_name(path)
    for target, line in _imports(path):
        if not target.startswith("sspi_async"):
            continue
        assert layer(target) <= layer(here), (
            f"{here}:{line} (L{layer(here)}) imports {target} (L{layer(target)})"
        )
        # The library never depends on its test helpers; the command line, at the very top, may
        # (the demo and `serve` issue throw-away certificates with testing.CertificateAuthority).
        if not here.startswith(("sspi_async.testing", "sspi_async._cli")):
            assert not target.startswith("sspi_async.testing"), (
                f"{here}:{line} imports the test helpers"
            )
        if not here.startswith("sspi_async._cli") and here != "sspi_async.__main__":
            assert not target.startswith("sspi_async._cli"), (
                f"{here}:{line} imports the command line"
            )


@pytest.mark.parametrize(
    "path",
    [p for p in MODULES if layer(_module_name(p)) <= 2],
    ids=lambda p: str(p.relative_to(ROOT.parent)),
)
def test_lower_layers_are_sans_io(path: Path) -> None:
    """DESIGN: L0–L2 import no asyncio/anyio/structlog/pydantic, read no clock, start no thread."""
    for target, line in _imports(path):
        root = target.split(".")[0]
        assert root not in FORBIDDEN_BELOW_L3, f"{_module_name(path)}:{line} imports {target}"
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in CLOCK_CALLS, (
                f"{_module_name(path)}:{node.lineno} reads a clock ({node.func.attr})"
            )


def test_layer_checker_catches_an_upward_import(tmp_path: Path) -> None:
    """DESIGN: the checker itself fails on an import that points up (it can fail)."""
    assert layer("sspi_async._core._engine") > layer("sspi_async.packages.simtls")
    bad = ROOT / "packages" / "_layering_probe.py"
    bad.write_text("from __future__ import annotations\n\nfrom .._core import _engine\n")
    try:
        with pytest.raises(AssertionError, match=r"imports sspi_async\._core"):
            test_imports_point_down(bad)
    finally:
        bad.unlink()
