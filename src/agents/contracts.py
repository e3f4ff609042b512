"""Input and output contracts (ring-style ``input_schema`` / ``output_schema``).

Output contract: ``required_sections[]`` (a regex per section, matched per line,
i.e. ``re.MULTILINE``), optionally required only when conditions hold
(``required_when``: ``prompt_contains`` / ``invocation_context``, as a mapping or
as ``key == 'value' and ...``), and ``verdict_values``: the value after
``VERDICT:`` must be one of them.

The input contract (``input_schema``) lives in :mod:`agents.input_contract`.

Unknown keys inside the schemas (ring's ``error_handling``, ``metrics``,
``invocation_context``...) are preserved (``extra="allow"``), never fatal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import ConfigDict, Field, PrivateAttr, field_validator, model_validator

from agents.contract_model import ContractModel, scalar_text
from agents.input_contract import ContextField, InputContract, check_input
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


#: The conditions ``required_when`` understands (mapping keys or ``key == 'value'``).
CONDITION_KEYS = ("prompt_contains", "invocation_context")
#: Upper bound of one stated condition kept in a warning (the rest is cut).
_SHOWN_CONDITION_CHARS = 120
_CONDITION_RE = re.compile(
    r"\s*(?P<key>[A-Za-z_][A-Za-z0-9_.]*)\s*==\s*(?:'(?P<sq>[^']*)'|\"(?P<dq>[^\"]*)\")\s*"
)
_AND_RE = re.compile(r"and\b", re.IGNORECASE)


def _shown_condition(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= _SHOWN_CONDITION_CHARS:
        return text
    return text[: _SHOWN_CONDITION_CHARS - 3] + "..."


def _parse_expression(text: str) -> tuple[dict[str, str], list[str]]:
    """``key == 'value' and key == 'value'`` -> (understood conditions, not understood)."""
    conditions: dict[str, str] = {}
    unparsed: list[str] = []
    position = 0
    while position < len(text):
        match = _CONDITION_RE.match(text, position)
        if match is None:
            unparsed.append(_shown_condition(text[position:]))
            break
        key = match.group("key")
        value = match.group("sq") if match.group("sq") is not None else match.group("dq")
        stated = _shown_condition(match.group(0))
        if key not in CONDITION_KEYS:
            unparsed.append(f"{stated} (unknown condition {key!r})")
        elif key in conditions:
            unparsed.append(f"{stated} ({key!r} is given twice)")
        else:
            conditions[key] = value
        position = match.end()
        if position >= len(text):
            break
        joiner = _AND_RE.match(text, position)
        if joiner is None:
            unparsed.append(f"{_shown_condition(text[position:])} (only 'and' joins conditions)")
            break
        position = joiner.end()
        if position >= len(text) or not text[position:].strip():
            unparsed.append("a dangling 'and'")
            break
    if not text.strip():
        unparsed.append("an empty condition")
    return conditions, unparsed


def _parse_mapping(value: Mapping[Any, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    unparsed: list[str] = []
    for key, item in value.items():
        if key == "unparsed" and isinstance(item, list):  # a round trip of a parsed one
            unparsed.extend(str(entry) for entry in item)
        elif key == "expression" and (item is None or isinstance(item, str)):
            data["expression"] = item
        elif key in CONDITION_KEYS and isinstance(item, str | int | float | bool | None):
            if item is not None:
                data[key] = scalar_text(item)
        else:
            unparsed.append(_shown_condition(f"{key}: {item!r}"))
    data["unparsed"] = unparsed
    return data


class RequiredWhen(ContractModel):
    """Conditions that make an optional section required for one request; all must hold.

    Written as a mapping (``prompt_contains``, ``invocation_context``) or as a string
    of ``key == 'value'`` conditions joined by ``and``. A condition that is not
    understood lands in ``unparsed``: the section is then optional (never required)
    and the definition loads with a warning.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    prompt_contains: str | None = None
    invocation_context: str | None = None
    expression: str | None = Field(
        default=None, description="The condition as written, when it was a string."
    )
    unparsed: list[str] = Field(
        default_factory=list,
        description="Conditions not understood; while any is listed the section is optional.",
    )

    @model_validator(mode="before")
    @classmethod
    def _either_shape(cls, value: Any) -> Any:
        if isinstance(value, str):
            conditions, unparsed = _parse_expression(value)
            return {**conditions, "expression": value, "unparsed": unparsed}
        if isinstance(value, Mapping):
            return _parse_mapping(value)
        return {"unparsed": [_shown_condition(f"{type(value).__name__} {value!r}")]}

    @property
    def understood(self) -> bool:
        """True when every condition was understood (and there is at least one)."""
        return not self.unparsed and (
            self.prompt_contains is not None or self.invocation_context is not None
        )

    def applies_to(self, prompt: str, invocation_context: str | None = None) -> bool:
        if not self.understood:
            return False
        if self.prompt_contains is not None and (
            not self.prompt_contains or self.prompt_contains not in prompt
        ):
            return False
        return self.invocation_context is None or self.invocation_context == invocation_context

    def warning(self, section: str) -> str | None:
        """The lint warning for a condition not understood (None when all are)."""
        if self.understood:
            return None
        what = "; ".join(self.unparsed) if self.unparsed else "no condition given"
        return (
            f"section {section!r}: required_when not understood ({what}); "
            f"the section is treated as optional. Conditions: "
            + " / ".join(f"{key} == '...'" for key in CONDITION_KEYS)
            + ", joined by 'and'"
        )

    def describe(self) -> str:
        parts = []
        if self.prompt_contains:
            parts.append(f"the request contains {self.prompt_contains!r}")
        if self.invocation_context is not None:
            parts.append(f"the invocation context is {self.invocation_context!r}")
        return " and ".join(parts)


class RequiredSection(ContractModel):
    """One section the output must contain: ``pattern`` must match some line."""

    name: str
    pattern: str
    required: bool = True
    required_when: RequiredWhen | None = None
    description: str = ""

    _regex: re.Pattern[str] = PrivateAttr()
    _scalars = field_validator("name", "pattern", "description", mode="before")(scalar_text)

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

    def is_required_for(self, prompt: str, invocation_context: str | None = None) -> bool:
        if self.required:
            return True
        return self.required_when is not None and self.required_when.applies_to(
            prompt, invocation_context
        )

    def found_in(self, text: str) -> bool:
        return self._regex.search(text) is not None


def find_verdict(text: str) -> str | None:
    """The raw value of the first ``VERDICT:`` line in ``text`` (None when absent)."""
    match = _VERDICT_RE.search(_normalise_newlines(text))
    return match.group("value") if match else None


class OutputContract(ContractModel):
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
            return [scalar_text(v) for v in value]
        return value

    @field_validator("required_sections", mode="before")
    @classmethod
    def _sections(cls, value: Any) -> Any:
        return [] if value is None else value

    def sections_for(
        self, prompt: str, invocation_context: str | None = None
    ) -> list[RequiredSection]:
        """Sections required for this request: the required ones plus those whose
        ``required_when`` conditions all hold for ``prompt`` and ``invocation_context``."""
        return [s for s in self.required_sections if s.is_required_for(prompt, invocation_context)]

    def warnings(self) -> list[tuple[int, str]]:
        """``(section index, message)`` per ``required_when`` that is not understood."""
        found: list[tuple[int, str]] = []
        for index, section in enumerate(self.required_sections):
            message = section.required_when.warning(section.name) if section.required_when else None
            if message:
                found.append((index, message))
        return found

    def check(
        self, text: str, prompt: str = "", invocation_context: str | None = None
    ) -> ContractResult:
        """Check an output ``text`` produced for this request against this contract."""
        text = _normalise_newlines(text)
        missing = [
            s.name for s in self.sections_for(prompt, invocation_context) if not s.found_in(text)
        ]
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
                rule = section.required_when
                condition = rule.describe() if rule is not None and rule.understood else ""
                when = f" (required when {condition})" if condition else " (optional)"
            detail = f": {section.description}" if section.description else ""
            lines.append(f"- {section.name}: a line matching /{section.pattern}/{when}{detail}")
        if self.verdict_values:
            allowed = ", ".join(self.verdict_values)
            lines.append(f"- a line 'VERDICT: <value>' with one of: {allowed}")
        return "\n".join(lines)


def check_output(
    contract: OutputContract | None,
    text: str,
    prompt: str = "",
    invocation_context: str | None = None,
) -> ContractResult:
    """Check ``text`` against ``contract``; no contract means always valid."""
    if contract is None:
        return ContractResult(valid=True, verdict=find_verdict(text))
    return contract.check(text, prompt, invocation_context)
