"""The base of the ring-style contract schemas, and YAML scalars read as text."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["ContractModel", "scalar_text"]


def scalar_text(value: Any) -> Any:
    """YAML gives numbers/bools for unquoted scalars; contracts want text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


class ContractModel(BaseModel):
    """A contract schema: frozen, unknown keys kept (``extra="allow"``)."""

    model_config = ConfigDict(frozen=True, extra="allow")
