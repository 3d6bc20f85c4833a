"""The pytest plugin of sspi_async (entry point ``pytest11``: ``sspi_async``), see docs/testing.md.

Fixtures:

* ``sspi_emulator`` — a fresh, tracing :class:`~sspi_async.Emulator` per test, entered (the flat
  facade and the object API use it), shut down after the test; the test then errors at teardown
  when it leaked a call, a callback, a callback task, a handle or a crypto thread;
* ``tls_pki`` — an ephemeral CA with server (``localhost``) and client certificates and ready
  ``SchannelCred``s (:class:`~sspi_async.testing.TlsPki`, made once per session);
* ``simtls_pair`` / ``schannel_pair`` — ready credentials and a handshake driver
  (:class:`~sspi_async.testing.ContextPair`);
* ``fault_plan`` — installs a fault plan on the test's emulator
  (:class:`~sspi_async.testing.FaultPlanInstaller`).

Markers: ``sspi_faults(plan)`` runs the test's emulator under a plan from its first call;
``sspi_emulator(**settings, check_leaks=True)`` sets ``EmulatorSettings`` fields. A failing test's
report gets a section with its trace as a Mermaid ``sequenceDiagram``.

The async fixtures run on pytest-asyncio (any mode) or, without it, on anyio's pytest plugin in
tests marked ``@pytest.mark.anyio`` (asyncio backend). With neither, only a test that asks for one
of them fails, with a message saying what to install; the plugin itself never gets in the way of
projects that do not use it (it only registers markers and options).
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import AsyncIterator, Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

# pytest loads this plugin in every run wherever sspi_async is installed: the emulator (pydantic,
# anyio, cryptography: ~0.4 s) is imported only by the fixtures and hooks that use it.
if TYPE_CHECKING:
    from .._core._config import EmulatorSettings
    from .._core._emulator import Emulator
    from .._core._faults import FaultPlan
    from ._leaks import LeakCheck
    from ._pairs import ContextPair
    from ._pki import TlsPki
    from ._plans import FaultPlanInstaller

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - the plugin's tests run it in a subprocess without it
    pytest_asyncio = None  # type: ignore[assignment]

__all__ = (
    "fault_plan",
    "schannel_pair",
    "simtls_pair",
    "sspi_emulator",
    "tls_pki",
)

#: The report section that holds a failing test's trace.
TRACE_SECTION = "sspi_async trace (Mermaid sequenceDiagram)"
_MARKERS = (
    "sspi_faults(plan): run the test's sspi_emulator under a fault plan from its first call: "
    "a .toml or .json file (relative to the test file), a dict, TOML text or a FaultPlan; "
    "or keyword arguments seed=..., rules=[...]",
    "sspi_emulator(**settings, check_leaks=True): EmulatorSettings fields for the test's "
    "sspi_emulator (latency=0.01, completion='eager', trace_tokens=True, ...); "
    "check_leaks=False skips the leak check",
)


@dataclass
class _TestState:
    """What the plugin keeps per test that uses ``sspi_emulator`` (in ``item.stash``)."""

    emulator: Emulator
    leaks: LeakCheck
    check_leaks: bool
    trace_reported: bool = False


_STATE = pytest.StashKey[_TestState]()
_CALL_PASSED = pytest.StashKey[bool]()


# --------------------------------------------------------------------------- hooks


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sspi_async", "sspi_async emulator fixtures")
    group.addoption(
        "--sspi-trace-dir",
        metavar="DIR",
        default=None,
        help="write the trace of every failing test that used sspi_emulator to DIR/<test>.jsonl "
        "(render it with 'sspi-async trace render')",
    )
    parser.addini(
        "sspi_shutdown_timeout",
        "seconds sspi_emulator waits for Emulator.aclose() after a test (default 10)",
        default="10",
    )
    parser.addini(
        "sspi_trace_max_events",
        "at most this many trace events in a failing test's Mermaid diagram, the last ones "
        "(default 400; 0: all)",
        default="400",
    )


def pytest_configure(config: pytest.Config) -> None:
    for line in _MARKERS:
        config.addinivalue_line("markers", line)
    # A mistake in our ini options stops the run before any test, as pytest's own do.
    _ini_number(config, "sspi_shutdown_timeout", float)
    _ini_number(config, "sspi_trace_max_events", int)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A marker on a test function that does not use the emulator would do nothing: say so."""
    if "sspi_emulator" in getattr(item, "fixturenames", ()):
        return
    for mark in getattr(item, "own_markers", ()):
        if mark.name in ("sspi_faults", "sspi_emulator"):
            pytest.fail(
                f"@pytest.mark.{mark.name} on {item.name} does nothing: the test uses neither "
                "sspi_emulator nor a fixture that does (simtls_pair, schannel_pair, fault_plan); "
                "add the fixture or remove the marker",
                pytrace=False,
            )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """The fault plan applies to setup and the test body: fixtures tear down without it (so a
    rule for every call cannot make the pair fixtures leak their own handles)."""
    state = item.stash.get(_STATE, None)
    if state is not None and not state.emulator.closed:
        state.emulator.set_fault_plan(None)


@pytest.hookimpl(tryfirst=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: Any) -> None:
    """Runs after the async plugins' hook wrappers replaced the fixture function of the async
    fixtures they drive: one of ours still async here means nobody drives it."""
    func = fixturedef.func
    if getattr(func, "_sspi_async_fixture", False) and (
        inspect.isasyncgenfunction(func) or inspect.iscoroutinefunction(func)
    ):
        # Not pytest.fail() here: an exception from this hook skips pytest's own bookkeeping
        # (cached result, finalizers) and every later test using the fixture dies on an internal
        # AssertionError. A replacement function that fails is run, cached and torn down normally.
        message = _no_runner_message(request)

        def no_runner(**_: object) -> NoReturn:
            pytest.fail(message, pytrace=False)

        fixturedef.func = no_runner  # type: ignore[misc]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[_CALL_PASSED] = report.passed
    state = item.stash.get(_STATE, None)
    if state is not None and report.failed and not state.trace_reported:
        state.trace_reported = True
        _report_trace(item, report, state.emulator)
    return report


# --------------------------------------------------------------------------- fixtures


def _async_fixture(func: Callable[..., Any]) -> Any:
    """An async fixture for pytest-asyncio (any mode) when it is installed, else a plain pytest
    fixture that anyio's plugin drives in ``@pytest.mark.anyio`` tests."""
    func._sspi_async_fixture = True  # type: ignore[attr-defined]
    if pytest_asyncio is not None:
        return pytest_asyncio.fixture(func)
    return pytest.fixture(func)  # pragma: no cover


@_async_fixture
async def sspi_emulator(request: pytest.FixtureRequest) -> AsyncIterator[Emulator]:
    """A fresh emulator (tracing), the current one for the test; shut down after it, and the
    test errors when it leaked a call, callback, task, handle or thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pytest.fail(
            "sspi_emulator runs on asyncio, and this test runs on another event loop; "
            "use the asyncio backend (anyio_backend = 'asyncio')",
            pytrace=False,
        )
    from .._core._emulator import Emulator
    from ._leaks import LeakCheck, leak_message

    item = request.node
    settings, check_leaks = _settings(item)
    emulator = Emulator(settings)
    state = item.stash[_STATE] = _TestState(emulator, LeakCheck(emulator), check_leaks)
    await emulator.__aenter__()
    yield emulator
    check = state.check_leaks and item.stash.get(_CALL_PASSED, False)
    found = state.leaks.before_close() if check else []
    timeout = _ini_number(request.config, "sspi_shutdown_timeout", float)
    try:
        await asyncio.wait_for(emulator.aclose(), timeout or None)
    except asyncio.TimeoutError:
        found.append(
            f"an emulator that did not shut down within {timeout:g} s (a coroutine notify "
            "callback that never returns?)"
        )
    else:
        await emulator.__aexit__(None, None, None)
    if check:
        found += state.leaks.after_close()
    if found:
        pytest.fail(leak_message(found), pytrace=False)


@pytest.fixture(scope="session")
def tls_pki() -> TlsPki:
    """An ephemeral CA, server (``localhost``) and client certificates, ready ``SchannelCred``s."""
    from ._pki import TlsPki

    return TlsPki.create()


@_async_fixture
async def simtls_pair(sspi_emulator: Emulator) -> AsyncIterator[ContextPair]:
    """SimTLS client and server credentials on the test's emulator, and a handshake driver."""
    from ._pairs import ContextPair

    pair = await ContextPair.simtls(emulator=sspi_emulator)
    yield pair
    await pair.aclose()


@_async_fixture
async def schannel_pair(sspi_emulator: Emulator, tls_pki: TlsPki) -> AsyncIterator[ContextPair]:
    """Schannel client (anonymous) and server (``tls_pki.server``) credentials, and a handshake
    driver."""
    from ._pairs import ContextPair

    pair = await ContextPair.schannel(
        tls_pki.client_cred, tls_pki.server_cred, target=tls_pki.target, emulator=sspi_emulator
    )
    yield pair
    await pair.aclose()


@pytest.fixture
def fault_plan(sspi_emulator: Emulator, request: pytest.FixtureRequest) -> FaultPlanInstaller:
    """``fault_plan(plan)`` installs a plan (FaultPlan, dict, TOML text or file) on the test's
    emulator; ``fault_plan(None)`` removes it."""
    from ._plans import FaultPlanInstaller

    return FaultPlanInstaller(sspi_emulator, base=request.path.parent)


# --------------------------------------------------------------------------- helpers


def _settings(item: pytest.Item) -> tuple[EmulatorSettings, bool]:
    """The test's settings (tracing on, its markers applied) and whether to check leaks."""
    from .._core._config import ConfigurationError, EmulatorSettings

    options: dict[str, Any] = {"trace": True}
    check_leaks = True
    mark = item.get_closest_marker("sspi_emulator")
    if mark is not None:
        if mark.args:
            _marker_error(item, mark, "takes keyword arguments only (EmulatorSettings fields)")
        options.update(mark.kwargs)
        check_leaks = options.pop("check_leaks", True)
        if not isinstance(check_leaks, bool):
            _marker_error(item, mark, f"check_leaks must be True or False, not {check_leaks!r}")
    plan_mark = item.get_closest_marker("sspi_faults")
    if plan_mark is not None:
        if "faults" in options:
            _marker_error(item, plan_mark, "the test also has sspi_emulator(faults=...); give one")
        options["faults"] = _marker_plan(item, plan_mark)
    try:
        return EmulatorSettings(**options), check_leaks
    except ConfigurationError as exc:
        problem = str(exc)
    _marker_error(item, mark or plan_mark, problem)


def _marker_plan(item: pytest.Item, mark: pytest.Mark) -> FaultPlan:
    from .._core._config import ConfigurationError
    from ._plans import as_fault_plan

    if len(mark.args) + bool(mark.kwargs) != 1:
        _marker_error(
            item,
            mark,
            "takes one plan (a file name, a dict, TOML text or a FaultPlan) or the plan's fields "
            "as keywords (seed=..., rules=[...])",
        )
    source = mark.args[0] if mark.args else dict(mark.kwargs)
    try:
        return as_fault_plan(source, base=item.path.parent)
    except (ConfigurationError, TypeError) as exc:
        problem = str(exc)
    _marker_error(item, mark, problem)


def _marker_error(item: pytest.Item, mark: pytest.Mark | None, problem: str) -> NoReturn:
    name = mark.name if mark is not None else "sspi_emulator"
    pytest.fail(f"@pytest.mark.{name} on {item.name}: {problem}", pytrace=False)


def _ini_number(config: pytest.Config, name: str, kind: type[float] | type[int]) -> float:
    text = str(config.getini(name)).strip()
    try:
        value = kind(text)
    except ValueError:
        value = -1
    if value < 0:
        raise pytest.UsageError(
            f"{name} = {text!r} in the pytest configuration: give a number >= 0"
        )
    return value


def _report_trace(item: pytest.Item, report: pytest.TestReport, emulator: Emulator) -> None:
    """Add the trace as a Mermaid diagram to a failing test's report (and write it to
    ``--sspi-trace-dir``)."""
    from .._core._trace_render import render_mermaid

    events = emulator.trace_events()
    if not events:
        return
    title = TRACE_SECTION
    directory = item.config.getoption("sspi_trace_dir")
    if directory:
        path = Path(directory) / (re.sub(r"[^\w.-]+", "_", item.nodeid).strip("_") + ".jsonl")
        path.parent.mkdir(parents=True, exist_ok=True)
        emulator.write_trace(path)
        title += f"; JSON Lines in {path}"
    limit = int(_ini_number(item.config, "sspi_trace_max_events", int))
    if limit and len(events) > limit:
        title += f"; the last {limit} of {len(events)} events"
        events = events[-limit:]
    report.sections.append((title, render_mermaid(events)))


def _no_runner_message(request: Any) -> str:
    if pytest_asyncio is None:
        why = "pytest-asyncio is not installed"
        enable = "Install pytest-asyncio (pip install pytest-asyncio)"
    elif not request.config.pluginmanager.hasplugin("asyncio"):
        why = "pytest-asyncio is installed but disabled (-p no:asyncio)"
        enable = "Enable pytest-asyncio (drop -p no:asyncio)"
    else:  # pragma: no cover - pytest-asyncio drives every fixture marked with its decorator
        why = "pytest-asyncio did not run it"
        enable = "Check your pytest-asyncio configuration"
    return (
        f"sspi_async's fixture {request.fixturename!r} is async and needs an asyncio test runner, "
        f'and {why}. {enable} and set asyncio_mode = "auto" in your pytest configuration (or '
        "mark the test @pytest.mark.asyncio); without pytest-asyncio, mark the test "
        "@pytest.mark.anyio (anyio's pytest plugin, asyncio backend)."
    )
