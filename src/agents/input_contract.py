"""ring's ``input_schema``: named inputs (``required_context[]`` / ``optional_context[]``)
the caller must or may pass in ``context``, with their declared types."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, field_validator

from agents.contract_model import ContractModel, scalar_text

__all__ = ["ContextField", "InputContract", "check_input"]

_TYPE_CHECKS: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "str": (str,),
    "text": (str,),
    "markdown": (str,),
    "file_content": (str,),
    "integer": (int,),
    "int": (int,),
    "number": (int, float),
    "float": (int, float),
    "percentage": (int, float),
    "boolean": (bool,),
    "bool": (bool,),
    "object": (dict,),
    "dict": (dict,),
    "list": (list,),
    "array": (list,),
}


def _type_ok(declared: str, value: object) -> bool:
    kind = declared.strip().lower()
    if kind.startswith(("list[", "array[")):
        return isinstance(value, list)
    expected = _TYPE_CHECKS.get(kind)
    if expected is None:  # free-form type name: nothing to check
        return True
    if bool not in expected and isinstance(value, bool):
        return False
    return isinstance(value, expected)


class ContextField(ContractModel):
    """One named input of an ``input_schema``."""

    name: str
    type: str = "string"
    description: str = ""

    _scalars = field_validator("name", "type", "description", mode="before")(scalar_text)


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class InputContract(ContractModel):
    """ring's ``input_schema``."""

    required_context: list[ContextField] = Field(default_factory=list)
    optional_context: list[ContextField] = Field(default_factory=list)

    @field_validator("required_context", "optional_context", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return [] if value is None else value

    def check(self, context: Mapping[str, object] | None) -> list[dict[str, str]]:
        """Problems with ``context`` (empty when it satisfies the contract).

        Each problem is ``{"field", "problem", "description", "message"}``:
        a required field that is absent/empty is ``missing``; a field whose
        value does not fit a known declared type is ``wrong-type``.
        """
        given: Mapping[str, object] = context if isinstance(context, Mapping) else {}
        problems: list[dict[str, str]] = []
        for spec in self.required_context:
            value = given.get(spec.name)
            if _is_missing(value):
                about = f": {spec.description}" if spec.description else ""
                problems.append(
                    {
                        "field": spec.name,
                        "problem": "missing",
                        "description": spec.description,
                        "message": f"required context {spec.name!r} is missing{about}",
                    }
                )
            elif not _type_ok(spec.type, value):
                problems.append(_wrong_type(spec, value))
        for spec in self.optional_context:
            value = given.get(spec.name)
            if not _is_missing(value) and not _type_ok(spec.type, value):
                problems.append(_wrong_type(spec, value))
        return problems


def _wrong_type(spec: ContextField, value: object) -> dict[str, str]:
    return {
        "field": spec.name,
        "problem": "wrong-type",
        "description": spec.description,
        "message": (f"context {spec.name!r} should be {spec.type}, got {type(value).__name__}"),
    }


def check_input(
    contract: InputContract | None, context: Mapping[str, object] | None
) -> list[dict[str, str]]:
    """Problems with ``context`` against ``contract`` (none without a contract)."""
    if contract is None:
        return []
    return contract.check(context)
