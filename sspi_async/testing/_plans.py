"""Fault plans as tests give them (the ``fault_plan`` fixture and the ``sspi_faults`` marker).

A test may name a plan in four ways (:func:`as_fault_plan`):

* a :class:`~sspi_async.FaultPlan`;
* a mapping (``{"seed": 1, "rules": [...]}``, as JSON or TOML would give);
* a path (``pathlib.Path``, or a ``str`` without ``=`` or a line break) to a ``.toml`` or
  ``.json`` file; a relative path is taken from the directory of the test file;
* TOML text (a ``str`` with ``=`` or a line break).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TypeAlias

from .._core._emulator import Emulator
from .._core._faults import FaultPlan, FaultPlanError

__all__ = ("FaultPlanInstaller", "PlanSource", "as_fault_plan")

#: What a test may give as a fault plan.
PlanSource: TypeAlias = FaultPlan | Mapping[str, object] | str | os.PathLike[str]


def as_fault_plan(source: PlanSource, *, base: Path | None = None) -> FaultPlan:
    """The :class:`~sspi_async.FaultPlan` ``source`` names (see the module docstring).

    Args:
        source: the plan, its data, a file path or TOML text.
        base: the directory a relative path is taken from (default: the working directory).

    Raises:
        FaultPlanError: the plan is invalid, or the file is missing or not ``.toml``/``.json``
            (the message names the file, the rule and the field).
        TypeError: ``source`` is none of the four.
    """
    if isinstance(source, FaultPlan):
        return source
    if isinstance(source, Mapping):
        return FaultPlan.from_data(dict(source))
    if isinstance(source, str) and ("=" in source or "\n" in source):
        return FaultPlan.from_toml(source)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_absolute() and base is not None:
            path = base / path
        if not path.is_file():
            raise FaultPlanError(
                f"no fault plan file {str(path)!r}; a plan given as a string is a .toml or .json "
                "file (relative to the test file's directory) or TOML text"
            )
        return FaultPlan.load(path)
    raise TypeError(
        "a fault plan is a FaultPlan, a dict of its fields, a path to a .toml or .json file, "
        f"or TOML text, not {type(source).__name__}"
    )


class FaultPlanInstaller:
    """Installs fault plans on one emulator: the ``fault_plan`` fixture.

        def test_slow_server(sspi_emulator, fault_plan):
            fault_plan({"rules": [{"side": "server", "action": {"kind": "delay", "seconds": 0.1}}]})

    Args:
        emulator: the emulator whose plan is swapped (``Emulator.set_fault_plan``).
        base: the directory relative plan files are read from (the test file's).
    """

    def __init__(self, emulator: Emulator, *, base: Path | None = None) -> None:
        self.emulator = emulator
        self.base = base

    def __call__(self, plan: PlanSource | None) -> FaultPlan | None:
        """Make ``plan`` (see :func:`as_fault_plan`; ``None`` removes the plan) the emulator's
        plan from the next queued call on, with its rule counters and random source afresh.
        Returns the installed plan."""
        installed = None if plan is None else as_fault_plan(plan, base=self.base)
        self.emulator.set_fault_plan(installed)
        return installed

    @property
    def current(self) -> FaultPlan | None:
        """The plan in force (``None``: none)."""
        return self.emulator.fault_plan

    def clear(self) -> None:
        """Remove the plan: calls queued from now on are not disturbed."""
        self.emulator.set_fault_plan(None)
