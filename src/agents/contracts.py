"""Input and output contracts (ring-style ``input_schema`` / ``output_schema``).

Output contract: ``required_sections[]`` (a regex per section, matched per line,
i.e. ``re.MULTILINE``), optionally required only when the prompt contains a
marker (``required_when.prompt_contains``), and ``verdict_values``: the value
after ``VERDICT:`` must be one of them.

Input contract: ``required_context[]`` / ``optional_context[]`` named inputs the
caller must/may pass in ``context``.

Unknown keys inside the schemas (ring's ``error_handling``, ``metrics``,
``invocation_context``...) are preserved (``extra="allow"``), never fatal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from agents.types import ContractResult

__all__ = [
    "ContextField",
    "InputContract",
    "OutputContract",
    "RequiredSection",
    "RequiredWhen",
    "check_input",
    "check_output",
    "find_verdict",
]

# ``## VERDICT: PASS``, ``**VERDICT:** FAIL``, ``VERDICT: needs_discussion`` ...
_VERDICT_RE = re.compile(
    r"^[ \t]*(?:#{1,6}[ \t]*)?[*_]{0,2}VERDICT[*_]{0,2}[ \t]*:[ \t]*[*_`]{0,2}[ \t]*"
    r"(?P<value>[A-Za-z0-9][A-Za-z0-9_\-]*)",
    re.MULTILINE | re.IGNORECASE,
)


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _scalar_str(value: Any) -> Any:
    """YAML gives numbers/bools for unquoted scalars; contracts want text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


class _Schema(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")


class RequiredWhen(_Schema):
    """Condition that makes an optional section required for one prompt."""

    prompt_contains: str | None = None

    _scalar = field_validator("prompt_contains", mode="before")(_scalar_str)

    def applies_to(self, prompt: str) -> bool:
        return bool(self.prompt_contains) and self.prompt_contains in prompt  # type: ignore[operator]


class RequiredSection(_Schema):
    """One section the output must contain: ``pattern`` must match some line."""

    name: str
    pattern: str
    required: bool = True
    required_when: RequiredWhen | None = None
    description: str = ""

    _regex: re.Pattern[str] = PrivateAttr()
    _scalars = field_validator("name", "pattern", "description", mode="before")(_scalar_str)

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("section name must not be empty")
        return value

    def model_post_init(self, context: Any, /) -> None:
        try:
            compiled = re.compile(self.pattern, re.MULTILINE)
        except (re.error, OverflowError, RecursionError, ValueError) as exc:
            raise ValueError(
                f"section {self.name!r}: pattern {self.pattern!r} is not a valid regex: {exc}"
            ) from None
        self._regex = compiled

    @property
    def regex(self) -> re.Pattern[str]:
        """The compiled pattern (``re.MULTILINE``: ``^``/``$`` anchor each line)."""
        return self._regex

    def is_required_for(self, prompt: str) -> bool:
        if self.required:
            return True
        return self.required_when is not None and self.required_when.applies_to(prompt)

    def found_in(self, text: str) -> bool:
        return self._regex.search(text) is not None


def find_verdict(text: str) -> str | None:
    """The raw value of the first ``VERDICT:`` line in ``text`` (None when absent)."""
    match = _VERDICT_RE.search(_normalise_newlines(text))
    return match.group("value") if match else None


class OutputContract(_Schema):
    """ring's ``output_schema``."""

    format: str = "markdown"
    required_sections: list[RequiredSection] = Field(default_factory=list)
    verdict_values: list[str] = Field(default_factory=list)

    @field_validator("verdict_values", mode="before")
    @classmethod
    def _verdicts(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        if isinstance(value, list):
            return [_scalar_str(v) for v in value]
        return value

    @field_validator("required_sections", mode="before")
    @classmethod
    def _sections(cls, value: Any) -> Any:
        return [] if value is None else value

    def sections_for(self, prompt: str) -> list[RequiredSection]:
        """Sections required for ``prompt``: the required ones plus those whose
        ``required_when.prompt_contains`` occurs in the prompt."""
        return [s for s in self.required_sections if s.is_required_for(prompt)]

    def check(self, text: str, prompt: str = "") -> ContractResult:
        """Check an output ``text`` produced for ``prompt`` against this contract."""
        text = _normalise_newlines(text)
        missing = [s.name for s in self.sections_for(prompt) if not s.found_in(text)]
        raw = find_verdict(text)
        verdict = raw
        verdict_error: str | None = None
        if self.verdict_values:
            allowed = {v.upper(): v for v in self.verdict_values}
            if raw is None:
                verdict_error = "no VERDICT line; expected one of " + ", ".join(self.verdict_values)
            elif raw in self.verdict_values:
                verdict = raw
            elif raw.upper() in allowed:
                verdict = allowed[raw.upper()]
            else:
                verdict_error = f"verdict {raw!r} is not one of " + ", ".join(self.verdict_values)
        return ContractResult(
            valid=not missing and verdict_error is None,
            missing=missing,
            verdict=verdict,
            verdict_error=verdict_error,
        )

    def describe(self) -> str:
        """A plain-text statement of the contract (for telling the model)."""
        lines: list[str] = []
        for section in self.required_sections:
            when = ""
            if not section.required:
                marker = section.required_when.prompt_contains if section.required_when else None
                when = (
                    f" (required when the request contains {marker!r})" if marker else " (optional)"
                )
            detail = f": {section.description}" if section.description else ""
            lines.append(f"- {section.name}: a line matching /{section.pattern}/{when}{detail}")
        if self.verdict_values:
            allowed = ", ".join(self.verdict_values)
            lines.append(f"- a line 'VERDICT: <value>' with one of: {allowed}")
        return "\n".join(lines)


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


class ContextField(_Schema):
    """One named input of an ``input_schema``."""

    name: str
    type: str = "string"
    description: str = ""

    _scalars = field_validator("name", "type", "description", mode="before")(_scalar_str)


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class InputContract(_Schema):
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


def check_output(contract: OutputContract | None, text: str, prompt: str = "") -> ContractResult:
    """Check ``text`` against ``contract``; no contract means always valid."""
    if contract is None:
        return ContractResult(valid=True, verdict=find_verdict(text))
    return contract.check(text, prompt)


def check_input(
    contract: InputContract | None, context: Mapping[str, object] | None
) -> list[dict[str, str]]:
    """Problems with ``context`` against ``contract`` (none without a contract)."""
    if contract is None:
        return []
    return contract.check(context)
