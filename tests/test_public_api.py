"""Public modules declare ``__all__`` as a tuple that matches what they export (DESIGN, anyio's
test_all_attributes)."""

from __future__ import annotations

import importlib
import subprocess
import sys
import types

import pytest

PUBLIC_MODULES = [
    "sspi_async",
    "sspi_async.com",
    "sspi_async.sspi",
    "sspi_async.testing",
    "sspi_async.packages",
    "sspi_async.packages.simtls",
]


def _public_names(module: types.ModuleType) -> set[str]:
    names = set()
    for name, value in vars(module).items():
        if name.startswith("_") or isinstance(value, types.ModuleType) or name == "annotations":
            continue
        origin = getattr(value, "__module__", None)
        if (
            origin is not None
            and not origin.startswith("sspi_async")
            and not isinstance(value, (int, str))
        ):
            continue  # typing helpers and stdlib names imported for annotations
        names.add(name)
    return names


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_is_a_tuple_matching_the_exports(name: str) -> None:
    """__all__ is a tuple; every name in it exists and every public name is in it."""
    module = importlib.import_module(name)
    exported = module.__all__
    assert isinstance(exported, tuple)
    assert len(set(exported)) == len(exported), "duplicate names in __all__"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"__all__ names that do not exist: {missing}"
    unlisted = sorted(_public_names(module) - set(exported))
    assert not unlisted, f"public names missing from __all__: {unlisted}"


def test_sspi_async_exports_the_pythonic_api() -> None:
    """SPEC §6–§7: the Pythonic names users import from sspi_async."""
    import sspi_async

    for name in (
        "Emulator",
        "EmulatorSettings",
        "SimTLSCred",
        "SspiError",
        "SspiMisuseError",
        "SspiTLSAttribute",
        "SspiTLSListener",
        "SspiTLSStream",
        "current_token",
        "process_token",
        "handshake",
        "register_package",
        "run_as",
        "call_as",
    ):
        assert name in sspi_async.__all__


def test_sspi_async_com_exports_the_COM_emulation() -> None:
    """SPEC §7 / issue 4: the names a COM server and its tests import from sspi_async.com."""
    import sspi_async.com as com

    for name in (
        "Runtime",
        "ComObject",
        "ServerCallObject",
        "IServerSecurity",
        "ISynchronize",
        "ICancelMethodCalls",
        "CoGetCallContext",
        "CoImpersonateClient",
        "CoRevertToSelf",
        "Securable",
        "HResult",
        "RPC_E_CALL_COMPLETE",
        "run_as",
    ):
        assert name in com.__all__


def test_sspi_async_exports_fault_plans_and_traces() -> None:
    """SPEC §9: fault plans, their actions and error, trace events, loading and rendering."""
    import sspi_async

    for name in (
        "FaultPlan",
        "FaultRule",
        "FaultPlanError",
        "DelayAction",
        "FailAction",
        "StallAction",
        "EagerAction",
        "CorruptAction",
        "TruncateAction",
        "SplitAction",
        "TraceEvent",
        "TraceFormatError",
        "load_trace",
        "render_mermaid",
        "render_svg",
        "render_text",
    ):
        assert name in sspi_async.__all__
        assert getattr(sspi_async, name).__module__.startswith("sspi_async._core")
    assert issubclass(sspi_async.FaultPlanError, sspi_async.ConfigurationError)


def test_importing_the_package_and_the_pytest_plugin_stays_cheap() -> None:
    """pytest loads the plugin (entry point ``pytest11``) in every run wherever sspi_async is
    installed: importing ``sspi_async``, ``sspi_async.testing`` and the plugin must not import
    the emulator's heavy dependencies (PEP 562 lazy names); using a name imports it."""
    code = (
        "import sys, sspi_async, sspi_async.testing, sspi_async.testing._plugin\n"
        "heavy = {'pydantic', 'anyio', 'cryptography', 'sspi_async._core._emulator'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
        "sspi_async.Emulator\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    before, after = result.stdout.splitlines()
    assert before == "[]"
    assert "sspi_async._core._emulator" in after
    assert "pydantic" in after
