"""Frontmatter mapping -> the typed fields of :class:`AgentDefinition`."""

from __future__ import annotations

import base64
import datetime as dt
import math
from typing import Any

from pydantic import ValidationError

from agents.contracts import InputContract, OutputContract
from agents.definitions.frontmatter_yaml import locate
from agents.definitions.model import KNOWN_FIELDS, split_tools
from agents.definitions.parse_state import ParseState, yaml_kind
from agents.errors import DefinitionError, InvalidAgentName
from agents.names import RULES as NAME_RULES
from agents.names import validate_agent_name

_MAX_DEPTH = 48
_MAX_NODES = 50_000
#: Numbers DynamoDB cannot store (more than 38 significant digits) become strings.
_MAX_DYNAMO_INT = 10**38

#: Frontmatter key -> (contract model, AgentDefinition field).
_CONTRACTS: tuple[tuple[str, type[OutputContract] | type[InputContract], str], ...] = (
    ("output_schema", OutputContract, "output_contract"),
    ("input_schema", InputContract, "input_contract"),
)


def _json_safe(value: Any, state: ParseState, depth: int = 0) -> Any:
    """A JSON- and DynamoDB-safe copy of a YAML value (bounded: anchors can loop)."""
    state.nodes_copied += 1
    if state.nodes_copied > _MAX_NODES:
        raise state.error(
            "the frontmatter is too large (YAML aliases expand to too many values)",
            hint="remove YAML anchors/aliases and keep the frontmatter small",
        )
    if depth > _MAX_DEPTH:
        raise state.error(
            "the frontmatter is nested too deeply (or refers to itself through YAML aliases)",
            hint="flatten the YAML structure; remove recursive anchors",
        )
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value if abs(value) < _MAX_DYNAMO_INT else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dt.date):  # datetime too
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {_key_text(k): _json_safe(v, state, depth + 1) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((_json_safe(v, state, depth + 1) for v in value), key=repr)
    if isinstance(value, list | tuple):
        return [_json_safe(v, state, depth + 1) for v in value]
    return str(value)


def _key_text(key: Any) -> str:
    if isinstance(key, dt.date):
        return key.isoformat()
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


def _scalar_text(value: Any, field: str, state: ParseState, line: int | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | dt.date):
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    raise state.error(
        f"'{field}' must be a single value, not a {yaml_kind(value)}",
        line=line,
        hint=f"write {field}: <text> on one line (quote it if it contains ': ')",
    )


def build_fields(
    data: dict[Any, Any], state: ParseState, key_lines: dict[str, int], fm_text: str
) -> dict[str, Any]:
    """Keyword arguments for :class:`AgentDefinition` (everything but body and source)."""
    data = {_key_text(k): v for k, v in data.items()}
    fields: dict[str, Any] = {"name": _agent_name(data.get("name"), state, key_lines)}

    for field in ("description", "model", "version", "color"):
        fields[field] = _scalar_text(data.get(field), field, state, key_lines.get(field))
    if fields["description"] is None:
        fields["description"] = ""
        state.warn("the frontmatter has no 'description'", key_lines.get("name"))
    elif not fields["description"].strip():
        state.warn("'description' is empty", key_lines.get("description"))
    if fields["model"] is not None:
        fields["model"] = fields["model"].strip() or None

    try:
        fields["tools"] = split_tools(data.get("tools"))
    except ValueError as exc:
        raise state.error(
            str(exc), line=key_lines.get("tools"), hint="tools: Read, Grep, Glob"
        ) from None

    try:
        fields["approval"] = split_tools(data.get("approval"))
    except ValueError:
        raise state.error(
            "approval must be a list of tool names or all-writes",
            line=key_lines.get("approval"),
            hint="approval: [Write, Edit]  or  approval: all-writes",
        ) from None

    extra_source = {k: v for k, v in data.items() if k not in KNOWN_FIELDS}
    fields["last_updated"] = _last_updated(data.get("last_updated"), state, key_lines, extra_source)

    for key, model_cls, field in _CONTRACTS:
        fields[field] = _contract(
            data.get(key), key, model_cls, state=state, key_lines=key_lines, fm_text=fm_text
        )

    fields["extra"] = _json_safe(extra_source, state)
    return fields


def _agent_name(name: Any, state: ParseState, key_lines: dict[str, int]) -> str:
    if name is None or (isinstance(name, str) and not name.strip()):
        raise state.error(
            "the frontmatter has no 'name'",
            line=key_lines.get("name", 2),
            hint="add name: <agent-name> (lowercase letters, digits, '-', '_', ':')",
        )
    if not isinstance(name, str):
        raise state.error(
            f"'name' must be a string, not a {yaml_kind(name)}",
            line=key_lines.get("name"),
            hint='quote the name: name: "..."',
        )
    try:
        return validate_agent_name(name.strip())
    except InvalidAgentName as exc:
        raise state.error(
            exc.detail,
            line=key_lines.get("name"),
            hint=f"rename the agent: a name has {NAME_RULES}",
        ) from None


def _contract(
    raw: Any,
    key: str,
    model_cls: type[OutputContract] | type[InputContract],
    *,
    state: ParseState,
    key_lines: dict[str, int],
    fm_text: str,
) -> OutputContract | InputContract | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise state.error(
            f"'{key}' must be a mapping, not a {yaml_kind(raw)}",
            line=key_lines.get(key),
            hint=f"see docs/definitions.md for the {key} fields",
        )
    safe = _json_safe(raw, state)
    try:
        contract = model_cls.model_validate(safe)
    except ValidationError as exc:
        raise validation_error(exc, state, key_lines, fm_text, key) from None
    if isinstance(contract, OutputContract):
        for index, message in contract.warnings():
            where = (key, "required_sections", index, "required_when")
            state.warn(message, locate(fm_text, where) or key_lines.get(key))
    return contract


def _last_updated(
    value: Any, state: ParseState, key_lines: dict[str, int], extra: dict[str, Any]
) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    state.warn(
        "'last_updated' is not a date (YYYY-MM-DD); kept as an extra field",
        key_lines.get("last_updated"),
    )
    extra["last_updated"] = value
    return None


def validation_error(
    exc: ValidationError,
    state: ParseState,
    key_lines: dict[str, int],
    fm_text: str,
    key: str | None,
) -> DefinitionError:
    """A pydantic error as a :class:`DefinitionError` at the offending file line."""
    first = exc.errors(include_url=False)[0]
    loc = tuple(first.get("loc", ()))
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    where = ".".join(str(part) for part in ((key,) if key else ()) + loc)
    path = ((key,) if key else ()) + loc
    if "not a valid regex" in message:
        path += ("pattern",)  # point at the pattern line, not the section's first line
    line = locate(fm_text, path) or (key_lines.get(key) if key else None)
    section_hint = ""
    if "regex" in message:
        section_hint = "fix the regular expression (Python re syntax); escape literal ( [ { * + ?"
    return state.error(
        f"invalid '{where}': {message}" if where else message,
        line=line,
        hint=section_hint or "see docs/definitions.md for the expected fields",
    )
