"""The pydantic base of every configuration model, and the error settings raise (DESIGN "Data").

Kept apart from :mod:`._config` so that the models it imports (fault plans, traces) can use the
same base and error without an import cycle; :mod:`._config` re-exports the three names.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

__all__ = ("ConfigurationError", "_Model", "describe_validation_error")


class ConfigurationError(ValueError):
    """Settings given to the emulator are invalid; the message names the field and the problem."""


def describe_validation_error(exc: ValidationError) -> str:
    """One line per problem: ``field: message``."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(model)"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ConfigurationError(
                f"invalid {type(self).__name__}: {describe_validation_error(exc)}"
            ) from exc
