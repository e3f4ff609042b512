"""The request to the model, checked before any call: ``max_tokens``, the user turn
(context names, the input contract, the size limit), the system blocks, and
:func:`preflight`, which runs those checks without a call (shape: ``docs/runner.md``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agents.config import Settings, get_settings
from agents.errors import InputContractError, PayloadTooLarge, ValidationFailed
from agents.prompting import build_contract_instruction, render_user_turn, valid_context_name

if TYPE_CHECKING:
    from agents.definitions import AgentDefinition
    from agents.records import InvocationRecord
    from agents.runner.deadline import Deadline

__all__ = [
    "RunInput",
    "build_system_blocks",
    "build_user_turn",
    "checked_max_tokens",
    "preflight",
]


@dataclass(frozen=True, slots=True)
class RunInput:
    """What one run answers: the definition, the caller's input and options, the deadline."""

    definition: AgentDefinition
    input_text: str
    deadline: Deadline
    context: Mapping[str, Any] | None = None
    invocation_context: str | None = None
    max_tokens: int | None = None
    metadata: Mapping[str, str] | None = None

    @classmethod
    def from_record(
        cls, record: InvocationRecord, definition: AgentDefinition, deadline: Deadline
    ) -> RunInput:
        """The run of a stored invocation (the executor's, inline or queued)."""
        return cls(
            definition,
            record.input or "",
            deadline,
            context=record.context,
            invocation_context=record.invocation_context,
            max_tokens=record.max_tokens,
            metadata=record.metadata,
        )


def checked_max_tokens(max_tokens: int | None, settings: Settings) -> int:
    """``max_tokens`` (the default when None), or :class:`ValidationFailed` when out of range."""
    value = settings.default_max_tokens if max_tokens is None else max_tokens
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not (1 <= value <= settings.max_tokens_limit)
    ):
        raise ValidationFailed(
            f"max_tokens must be an integer from 1 to {settings.max_tokens_limit}",
            field="max_tokens",
        )
    return value


def build_user_turn(
    definition: AgentDefinition,
    input_text: str,
    context: Mapping[str, Any] | None,
    settings: Settings,
) -> str:
    """The user turn: the context blocks, then the input (each check raises its error)."""
    if context is not None and not isinstance(context, Mapping):
        raise ValidationFailed("context must be an object", field="context")
    given: Mapping[str, Any] = context or {}
    bad = [name for name in given if not isinstance(name, str) or not valid_context_name(name)]
    if bad:
        raise ValidationFailed(
            "context names must match [A-Za-z0-9_.-]{1,64}",
            field="context",
            names=[str(name)[:80] for name in bad[:20]],
        )
    declared: list[str] = []
    if definition.input_contract is not None:
        problems = definition.input_contract.check(given)
        if problems:
            names = ", ".join(problem["field"] for problem in problems)
            raise InputContractError(
                f"the context does not satisfy the agent's input contract: {names}", problems
            )
        declared = [c.name for c in definition.input_contract.required_context]
        declared += [c.name for c in definition.input_contract.optional_context]
    if not input_text.strip() and not given:
        raise ValidationFailed("input must not be empty", field="input")
    text = render_user_turn(input_text, given, declared)
    if len(text) > settings.max_input_chars:
        raise PayloadTooLarge(
            f"input and context are {len(text)} characters; the limit is "
            f"{settings.max_input_chars}",
            limit=settings.max_input_chars,
        )
    return text


def build_system_blocks(
    definition: AgentDefinition,
    input_text: str,
    invocation_context: str | None = None,
    *,
    tool_names: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The definition body, then the contract instruction (naming ``tool_names``, the tools
    the run offers): two cached system blocks."""
    body = definition.body.strip() or (
        f"You are the agent {definition.name}. {definition.description}".strip()
    )
    blocks: list[dict[str, Any]] = [
        {"type": "text", "text": body, "cache_control": {"type": "ephemeral"}}
    ]
    if definition.output_contract is not None:
        instruction = build_contract_instruction(
            definition.output_contract, input_text, invocation_context, tools=tool_names
        )
        if instruction:
            blocks.append(
                {"type": "text", "text": instruction, "cache_control": {"type": "ephemeral"}}
            )
    return blocks


def preflight(
    definition: AgentDefinition,
    input_text: str,
    *,
    context: Mapping[str, Any] | None = None,
    max_tokens: int | None = None,
    settings: Settings | None = None,
) -> None:
    """The request checks :meth:`~agents.runner.Runner.run` makes before any model call,
    without the call.

    The API runs them before it writes a record, so a caller's mistake (unknown model alias,
    ``max_tokens`` out of range, bad context names, input-contract violation, oversized
    input) is a 4xx with nothing stored. Raises what ``run`` would raise.
    """
    from agents.model_aliases import resolve_model

    settings = settings or get_settings()
    resolve_model(definition.model, settings)
    checked_max_tokens(max_tokens, settings)
    build_user_turn(definition, input_text, context, settings)
