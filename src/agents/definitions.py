"""Agent definitions: Markdown with YAML frontmatter -> :class:`AgentDefinition`.

Parsing is strict first (``yaml.safe_load`` semantics). When strict YAML fails,
one lenient fallback is tried for the common real-world break: a one-line
top-level value containing an unquoted ``": "`` (``description: ... Triggers
on: 'x'``); the value is quoted and the definition loads with a warning.
Anything else raises :class:`agents.errors.DefinitionError` naming the file,
the line and a fix. A file whose line breaks were lost (all on one line) gets
its own message. Whatever the input, :func:`parse_definition` raises nothing
but ``DefinitionError`` (the fuzz tests hold it to that).
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import math
import re
from pathlib import Path
from typing import Any

import yaml
from frontmatter.default_handlers import YAMLHandler
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from agents.contracts import InputContract, OutputContract, check_input, check_output
from agents.errors import DefinitionError, InvalidAgentName
from agents.names import RULES as NAME_RULES
from agents.names import validate_agent_name
from agents.types import ContractResult

__all__ = [
    "MAX_DEFINITION_BYTES",
    "AgentDefinition",
    "DefinitionSource",
    "load_definition_file",
    "parse_definition",
]

#: Definitions larger than this are refused (S3 objects and local files alike).
MAX_DEFINITION_BYTES = 1_048_576

_MAX_DEPTH = 48
_MAX_NODES = 50_000
#: Numbers DynamoDB cannot store (more than 38 significant digits) become strings.
_MAX_DYNAMO_INT = 10**38

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Frontmatter keys mapped onto typed fields; every other key lands in ``extra``.
_KNOWN = frozenset(
    {
        "name",
        "description",
        "model",
        "version",
        "tools",
        "color",
        "last_updated",
        "output_schema",
        "input_schema",
    }
)
_TOP_LEVEL_KEY = re.compile(r"(?P<key>[A-Za-z_][A-Za-z0-9_\-]*)[ \t]*:(?:[ \t]|$)")
# A top-level ``key: value`` line whose plain (unquoted) value is on one line.
_ONE_LINE_VALUE = re.compile(
    r"(?P<key>[A-Za-z_][A-Za-z0-9_\-]*)[ \t]*:[ \t]+"
    r"(?P<value>[^\s\"'|>\[\]{}&*!%@`#,?:-].*?|-[^\s-].*?)[ \t]*"
)


class DefinitionSource(BaseModel):
    """Where a definition came from (S3 object or local file)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bucket: str | None = None
    key: str | None = None
    etag: str | None = None
    version_id: str | None = None
    path: str | None = None


def _split_tools(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, str):
        return [t.strip() for t in value.split(",") if t.strip()]
    if isinstance(value, list | tuple):
        out: list[str] = []
        for item in value:
            if isinstance(item, dict | list | tuple):
                raise ValueError("tools must be a list of tool names or a comma-separated string")
            text = str(item).strip()
            if text:
                out.append(text)
        return out
    raise ValueError("tools must be a list of tool names or a comma-separated string")


class AgentDefinition(BaseModel):
    """A parsed agent definition. ``name`` is its identity and its S3 key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str = ""
    model: str | None = None
    version: str | None = None
    tools: list[str] = Field(default_factory=list)
    color: str | None = None
    last_updated: dt.date | None = None
    output_contract: OutputContract | None = None
    input_contract: InputContract | None = None
    #: The Markdown after the frontmatter: the system prompt.
    body: str = ""
    source: DefinitionSource | None = None
    #: Every other frontmatter field, JSON-safe (dates as ISO strings).
    extra: dict[str, Any] = Field(default_factory=dict)
    #: Non-fatal findings (lenient YAML, odd fields); lint prints them.
    warnings: list[str] = Field(default_factory=list)

    _warning_lines: list[int | None] = PrivateAttr(default_factory=list)
    _key_lines: dict[str, int] = PrivateAttr(default_factory=dict)

    _tools = field_validator("tools", mode="before")(_split_tools)

    # --- convenience ---------------------------------------------------------

    @property
    def etag_or_version(self) -> str | None:
        """The most precise revision marker known: S3 version id, else ETag,
        else the frontmatter ``version`` (what an invocation record keeps)."""
        if self.source is not None:
            if self.source.version_id and self.source.version_id != "null":
                return self.source.version_id
            if self.source.etag:
                return self.source.etag
        return self.version

    @property
    def etag(self) -> str | None:
        return self.source.etag if self.source is not None else None

    def warning_items(self) -> list[tuple[int | None, str]]:
        """``(line, message)`` per warning (line 1-based, None when unknown)."""
        lines = self._warning_lines + [None] * (len(self.warnings) - len(self._warning_lines))
        return list(zip(lines, self.warnings, strict=False))

    def line_of(self, field: str) -> int | None:
        """1-based line of a top-level frontmatter field (None when unknown)."""
        return self._key_lines.get(field)

    def check_output(
        self, text: str, prompt: str = "", invocation_context: str | None = None
    ) -> ContractResult:
        return check_output(self.output_contract, text, prompt, invocation_context)

    def check_input(self, context: Any) -> list[dict[str, str]]:
        return check_input(self.input_contract, context)

    def summary(self) -> dict[str, Any]:
        """Caller-safe metadata for ``GET /agents`` (no bucket, key or path)."""
        return {
            "name": self.name,
            "description": self.description,
            "model": self.model,
            "version": self.version,
            "tools": list(self.tools),
            "color": self.color,
            "last_updated": self.last_updated.isoformat() if self.last_updated else None,
            "etag": self.etag,
            "output_contract": (
                self.output_contract.model_dump(mode="json") if self.output_contract else None
            ),
            "input_contract": (
                self.input_contract.model_dump(mode="json") if self.input_contract else None
            ),
        }


# --- parsing ----------------------------------------------------------------


class _Ctx:
    """Per-parse state: the path for messages and collected warnings."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.warnings: list[tuple[int | None, str]] = []
        self.nodes = 0

    def error(self, detail: str, *, line: int | None = None, hint: str = "") -> DefinitionError:
        return DefinitionError(detail, path=self.path, line=line, hint=hint)

    def warn(self, message: str, line: int | None = None) -> None:
        self.warnings.append((line, message))


def parse_definition(
    text: str | bytes,
    *,
    path: str = "<string>",
    source: DefinitionSource | None = None,
) -> AgentDefinition:
    """Parse one definition. Raises only :class:`DefinitionError`."""
    ctx = _Ctx(path)
    try:
        return _parse(text, ctx, source)
    except DefinitionError:
        raise
    except RecursionError:
        raise ctx.error(
            "the frontmatter is nested too deeply", hint="flatten the YAML structure"
        ) from None
    except Exception as exc:  # the contract: nothing but DefinitionError escapes
        raise ctx.error(
            f"cannot parse the definition ({type(exc).__name__})",
            hint="check the file is UTF-8 Markdown with a YAML frontmatter block",
        ) from exc


def load_definition_file(path: str | Path) -> AgentDefinition:
    """Read and parse a local definition file."""
    file = Path(path)
    shown = str(path)
    try:
        size = file.stat().st_size
        if size > MAX_DEFINITION_BYTES:
            raise _too_large(shown, size)
        data = file.read_bytes()
    except OSError as exc:
        raise DefinitionError(f"cannot read the file: {exc.strerror or exc}", path=shown) from None
    return parse_definition(data, path=shown, source=DefinitionSource(path=shown))


def _too_large(path: str, size: int) -> DefinitionError:
    return DefinitionError(
        f"the definition is {size} bytes; the limit is {MAX_DEFINITION_BYTES} bytes",
        path=path,
        hint="move reference material out of the system prompt",
    )


def _decode(raw: str | bytes, ctx: _Ctx) -> str:
    if isinstance(raw, bytes | bytearray | memoryview):
        data = bytes(raw)
        if len(data) > MAX_DEFINITION_BYTES:
            raise _too_large(ctx.path, len(data))
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise ctx.error(
                f"the file is not valid UTF-8 (byte {exc.start})",
                line=line,
                hint="save the file as UTF-8",
            ) from None
    if not isinstance(raw, str):
        raise ctx.error(f"expected text or bytes, got {type(raw).__name__}")
    if len(raw) > MAX_DEFINITION_BYTES or (
        len(raw) * 4 > MAX_DEFINITION_BYTES
        and len(raw.encode("utf-8", "surrogatepass")) > MAX_DEFINITION_BYTES
    ):
        raise _too_large(ctx.path, len(raw.encode("utf-8", "surrogatepass")))
    if any("\ud800" <= ch <= "\udfff" for ch in raw):
        raise ctx.error(
            "the text contains lone surrogate code points", hint="save the file as UTF-8"
        )
    return raw.removeprefix("\ufeff")


_FLATTENED = re.compile(r"---[ \t]+\S")
_FM_BOUNDARY: re.Pattern[str] = YAMLHandler.FM_BOUNDARY


def _parse(raw: str | bytes, ctx: _Ctx, source: DefinitionSource | None) -> AgentDefinition:
    text = _decode(raw, ctx).replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    first = lines[0].rstrip()
    if first != "---":
        if _FLATTENED.match(first):
            one_line = len(text.strip().split("\n")) == 1
            raise ctx.error(
                "the line breaks are missing: the frontmatter opener '---' is followed by "
                "more text on the same line"
                + (" (the whole file is on one line)" if one_line else ""),
                line=1,
                hint="restore the file's newlines; '---' must be alone on the first line, "
                "each field on its own line, and a line with only '---' must close the frontmatter",
            )
        if not text.strip():
            raise ctx.error(
                "the definition is empty",
                line=1,
                hint="start with a YAML frontmatter block: ---, name: <agent-name>, ---",
            )
        raise ctx.error(
            "no YAML frontmatter: the first line must be exactly '---'",
            line=1,
            hint="start the file with ---, then name:/description:/model: lines, then ---",
        )
    # python-frontmatter's YAML handler defines the '---' boundaries; the YAML is
    # loaded below (not by the handler) so errors keep file-accurate line numbers.
    boundaries = list(itertools.islice(_FM_BOUNDARY.finditer(text), 2))
    if len(boundaries) < 2:
        raise ctx.error(
            "the YAML frontmatter is not closed",
            line=1,
            hint="add a line containing only --- after the last frontmatter field",
        )
    close = text.count("\n", 0, boundaries[1].start())
    fm_lines = lines[1:close]
    fm_text = "\n".join(fm_lines)
    data, fm_text = _load_yaml(fm_text, ctx)
    if data is None:
        raise ctx.error("the frontmatter is empty", line=1, hint="add at least name: <agent-name>")
    if not isinstance(data, dict):
        raise ctx.error(
            f"the frontmatter must be a mapping of fields, not a {_yaml_kind(data)}",
            line=2,
            hint="write one 'field: value' per line",
        )
    key_lines = _top_level_key_lines(fm_lines)
    fields = _build_fields(data, ctx, key_lines, fm_text)
    body = "\n".join(lines[close + 1 :]).strip("\n").rstrip()
    if not body.strip():
        ctx.warn("the body (the agent's system prompt) is empty", close + 1)
    try:
        definition = AgentDefinition(
            **fields,
            body=body,
            source=source,
            warnings=[message for _, message in ctx.warnings],
        )
    except ValidationError as exc:
        raise _from_validation(exc, ctx, key_lines, fm_text, None) from None
    definition._warning_lines = [line for line, _ in ctx.warnings]
    definition._key_lines = key_lines
    return definition


def _yaml_kind(value: object) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


def _top_level_key_lines(fm_lines: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, line in enumerate(fm_lines):
        match = _TOP_LEVEL_KEY.match(line)
        if match and match["key"] not in found:
            found[match["key"]] = index + 2  # file line: opener is line 1
    return found


# --- YAML: strict, then the one lenient fallback ------------------------------


def _load(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


def _load_yaml(fm_text: str, ctx: _Ctx) -> tuple[Any, str]:
    try:
        return _load(fm_text), fm_text
    except yaml.YAMLError as strict:
        fixed, fixed_lines = _quote_colon_values(fm_text)
        if fixed_lines:
            try:
                data = _load(fixed)
            except (yaml.YAMLError, ValueError, TypeError, OverflowError):
                pass
            else:
                for line, key in fixed_lines:
                    ctx.warn(
                        f"invalid YAML: the value of '{key}' contains an unquoted ': '; "
                        "parsed leniently as a quoted string (quote the value to fix)",
                        line,
                    )
                return data, fixed
        raise _yaml_error(strict, fm_text, ctx) from None
    except (ValueError, TypeError, OverflowError) as exc:
        # e.g. a date-like scalar that is not a date (2025-13-45), an int too long.
        raise ctx.error(
            f"invalid value in the YAML frontmatter: {exc}",
            hint="quote values that look like dates or numbers but are not",
        ) from None


def _quote_colon_values(fm_text: str) -> tuple[str, list[tuple[int, str]]]:
    """Quote one-line top-level plain values that contain ``": "``."""
    lines = fm_text.split("\n")
    fixed: list[tuple[int, str]] = []
    for index, line in enumerate(lines):
        match = _ONE_LINE_VALUE.fullmatch(line)
        if match is None or ": " not in match["value"]:
            continue
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if following[:1] in (" ", "\t") and following.strip():
            continue  # a multi-line plain scalar: not the one-line case
        value = match["value"].replace("'", "''")
        lines[index] = f"{match['key']}: '{value}'"
        fixed.append((index + 2, match["key"]))
    return "\n".join(lines), fixed


def _yaml_error(exc: yaml.YAMLError, fm_text: str, ctx: _Ctx) -> DefinitionError:
    mark = getattr(exc, "problem_mark", None)
    context_mark = getattr(exc, "context_mark", None)
    if mark is None or (context_mark is not None and mark.index >= len(fm_text)):
        # The problem surfaced at the end of the frontmatter (an unclosed [ { or
        # quote): the line where the construct started is the useful one.
        mark = context_mark or mark
    fm_line = mark.line if mark is not None else None
    if fm_line is not None:
        fm_line = min(fm_line, max(fm_text.count("\n"), 0))
    problem = getattr(exc, "problem", None) or str(exc).split("\n")[0]
    context = getattr(exc, "context", None)
    detail = f"invalid YAML in the frontmatter: {problem}"
    if context:
        detail += f" ({context})"
    offending = ""
    if fm_line is not None:
        fm_lines = fm_text.split("\n")
        if 0 <= fm_line < len(fm_lines):
            offending = fm_lines[fm_line]
    hint = (
        "check the YAML syntax on this line; quote values containing ': ', ' #' "
        "or starting with a special character"
    )
    if "\t" in offending or "tab" in str(problem).lower():
        hint = "indent YAML with spaces, not tabs"
    elif offending.count(": ") > 1 or "mapping values are not allowed" in str(problem):
        key = offending.split(":", 1)[0].strip() or "field"
        hint = f'quote the value, e.g. {key}: "..." (a value may not contain an unquoted ": ")'
    elif "found character" in str(problem) and "cannot start any token" in str(problem):
        hint = "quote the value: it starts with a character YAML reserves (@, `, % ...)"
    return ctx.error(detail, line=None if fm_line is None else fm_line + 2, hint=hint)


# --- fields -------------------------------------------------------------------


def _json_safe(value: Any, ctx: _Ctx, depth: int = 0) -> Any:
    """A JSON- and DynamoDB-safe copy of a YAML value (bounded: anchors can loop)."""
    ctx.nodes += 1
    if ctx.nodes > _MAX_NODES:
        raise ctx.error(
            "the frontmatter is too large (YAML aliases expand to too many values)",
            hint="remove YAML anchors/aliases and keep the frontmatter small",
        )
    if depth > _MAX_DEPTH:
        raise ctx.error(
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
        return {_key_text(k): _json_safe(v, ctx, depth + 1) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((_json_safe(v, ctx, depth + 1) for v in value), key=repr)
    if isinstance(value, list | tuple):
        return [_json_safe(v, ctx, depth + 1) for v in value]
    return str(value)


def _key_text(key: Any) -> str:
    if isinstance(key, dt.date):
        return key.isoformat()
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


def _scalar_text(value: Any, field: str, ctx: _Ctx, line: int | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | dt.date):
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    raise ctx.error(
        f"'{field}' must be a single value, not a {_yaml_kind(value)}",
        line=line,
        hint=f"write {field}: <text> on one line (quote it if it contains ': ')",
    )


def _build_fields(
    data: dict[Any, Any], ctx: _Ctx, key_lines: dict[str, int], fm_text: str
) -> dict[str, Any]:
    data = {_key_text(k): v for k, v in data.items()}
    fields: dict[str, Any] = {}

    name = data.get("name")
    if name is None or (isinstance(name, str) and not name.strip()):
        raise ctx.error(
            "the frontmatter has no 'name'",
            line=key_lines.get("name", 2),
            hint="add name: <agent-name> (lowercase letters, digits, '-', '_', ':')",
        )
    if not isinstance(name, str):
        raise ctx.error(
            f"'name' must be a string, not a {_yaml_kind(name)}",
            line=key_lines.get("name"),
            hint='quote the name: name: "..."',
        )
    try:
        fields["name"] = validate_agent_name(name.strip())
    except InvalidAgentName as exc:
        raise ctx.error(
            exc.detail,
            line=key_lines.get("name"),
            hint=f"rename the agent: a name has {NAME_RULES}",
        ) from None

    for field in ("description", "model", "version", "color"):
        fields[field] = _scalar_text(data.get(field), field, ctx, key_lines.get(field))
    if fields["description"] is None:
        fields["description"] = ""
        ctx.warn("the frontmatter has no 'description'", key_lines.get("name"))
    elif not fields["description"].strip():
        ctx.warn("'description' is empty", key_lines.get("description"))
    if fields["model"] is not None:
        fields["model"] = fields["model"].strip() or None

    try:
        fields["tools"] = _split_tools(data.get("tools"))
    except ValueError as exc:
        raise ctx.error(
            str(exc), line=key_lines.get("tools"), hint="tools: Read, Grep, Glob"
        ) from None

    extra_source = {k: v for k, v in data.items() if k not in _KNOWN}
    fields["last_updated"] = _last_updated(data.get("last_updated"), ctx, key_lines, extra_source)

    for key, model_cls, field in (
        ("output_schema", OutputContract, "output_contract"),
        ("input_schema", InputContract, "input_contract"),
    ):
        raw = data.get(key)
        if raw is None:
            fields[field] = None
            continue
        if not isinstance(raw, dict):
            raise ctx.error(
                f"'{key}' must be a mapping, not a {_yaml_kind(raw)}",
                line=key_lines.get(key),
                hint=f"see docs/definitions.md for the {key} fields",
            )
        safe = _json_safe(raw, ctx)
        try:
            fields[field] = model_cls.model_validate(safe)
        except ValidationError as exc:
            raise _from_validation(exc, ctx, key_lines, fm_text, key) from None
        if isinstance(fields[field], OutputContract):
            for index, message in fields[field].warnings():
                where = (key, "required_sections", index, "required_when")
                ctx.warn(message, _locate(fm_text, where) or key_lines.get(key))

    fields["extra"] = _json_safe(extra_source, ctx)
    return fields


def _last_updated(
    value: Any, ctx: _Ctx, key_lines: dict[str, int], extra: dict[str, Any]
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
    ctx.warn(
        "'last_updated' is not a date (YYYY-MM-DD); kept as an extra field",
        key_lines.get("last_updated"),
    )
    extra["last_updated"] = value
    return None


def _from_validation(
    exc: ValidationError,
    ctx: _Ctx,
    key_lines: dict[str, int],
    fm_text: str,
    key: str | None,
) -> DefinitionError:
    first = exc.errors(include_url=False)[0]
    loc = tuple(first.get("loc", ()))
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    where = ".".join(str(part) for part in ((key,) if key else ()) + loc)
    path = ((key,) if key else ()) + loc
    if "not a valid regex" in message:
        path += ("pattern",)  # point at the pattern line, not the section's first line
    line = _locate(fm_text, path) or (key_lines.get(key) if key else None)
    section_hint = ""
    if "regex" in message:
        section_hint = "fix the regular expression (Python re syntax); escape literal ( [ { * + ?"
    return ctx.error(
        f"invalid '{where}': {message}" if where else message,
        line=line,
        hint=section_hint or "see docs/definitions.md for the expected fields",
    )


def _locate(fm_text: str, loc: tuple[Any, ...]) -> int | None:
    """File line of the YAML node at ``loc`` (keys and list indexes), best effort."""
    try:
        node: Any = yaml.compose(fm_text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, ValueError, RecursionError):
        return None
    line: int | None = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(
                ((k, v) for k, v in node.value if getattr(k, "value", None) == str(part)), None
            )
            if match is None:
                break
            line = match[0].start_mark.line + 2
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 2
        else:
            break
    return line
