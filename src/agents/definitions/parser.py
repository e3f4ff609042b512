"""Parse one definition file: decode, find the frontmatter, build the model.

Whatever the input, :func:`parse_definition` raises nothing but
:class:`DefinitionError` (the fuzz tests hold it to that).
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from pydantic import ValidationError

from agents.definitions.fields import build_fields, validation_error
from agents.definitions.frontmatter_yaml import (
    load_frontmatter,
    missing_opener_error,
    top_level_key_lines,
)
from agents.definitions.model import AgentDefinition, DefinitionSource
from agents.definitions.parse_state import ParseState, yaml_kind
from agents.errors import DefinitionError

#: Definitions larger than this are refused (S3 objects and local files alike).
MAX_DEFINITION_BYTES = 1_048_576

#: A frontmatter boundary: a line of three or more dashes, trailing blanks allowed
#: (the Jekyll rule, as python-frontmatter had it; decision 13.110).
_FM_BOUNDARY = re.compile(r"^-{3,}\s*$", re.MULTILINE)


def parse_definition(
    text: str | bytes,
    *,
    path: str = "<string>",
    source: DefinitionSource | None = None,
) -> AgentDefinition:
    """Parse one definition. Raises only :class:`DefinitionError`."""
    state = ParseState(path)
    try:
        return _parse(text, state, source)
    except DefinitionError:
        raise
    except RecursionError:
        raise state.error(
            "the frontmatter is nested too deeply", hint="flatten the YAML structure"
        ) from None
    except Exception as exc:  # the contract: nothing but DefinitionError escapes
        raise state.error(
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


def _decode(raw: str | bytes, state: ParseState) -> str:
    if isinstance(raw, bytes | bytearray | memoryview):
        data = bytes(raw)
        if len(data) > MAX_DEFINITION_BYTES:
            raise _too_large(state.path, len(data))
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise state.error(
                f"the file is not valid UTF-8 (byte {exc.start})",
                line=line,
                hint="save the file as UTF-8",
            ) from None
    if not isinstance(raw, str):
        raise state.error(f"expected text or bytes, got {type(raw).__name__}")
    if len(raw) > MAX_DEFINITION_BYTES or (
        len(raw) * 4 > MAX_DEFINITION_BYTES
        and len(raw.encode("utf-8", "surrogatepass")) > MAX_DEFINITION_BYTES
    ):
        raise _too_large(state.path, len(raw.encode("utf-8", "surrogatepass")))
    if any("\ud800" <= ch <= "\udfff" for ch in raw):
        raise state.error(
            "the text contains lone surrogate code points", hint="save the file as UTF-8"
        )
    return raw.removeprefix("\ufeff")


def _closing_line(text: str, state: ParseState) -> int:
    """0-based line of the ``---`` that closes the frontmatter."""
    boundaries = list(itertools.islice(_FM_BOUNDARY.finditer(text), 2))
    if len(boundaries) < 2:
        raise state.error(
            "the YAML frontmatter is not closed",
            line=1,
            hint="add a line containing only --- after the last frontmatter field",
        )
    return text.count("\n", 0, boundaries[1].start())


def _parse(raw: str | bytes, state: ParseState, source: DefinitionSource | None) -> AgentDefinition:
    text = _decode(raw, state).replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines[0].rstrip() != "---":
        raise missing_opener_error(text, state)
    close = _closing_line(text, state)
    fm_lines = lines[1:close]
    data, fm_text = load_frontmatter("\n".join(fm_lines), state)
    if data is None:
        raise state.error(
            "the frontmatter is empty", line=1, hint="add at least name: <agent-name>"
        )
    if not isinstance(data, dict):
        raise state.error(
            f"the frontmatter must be a mapping of fields, not a {yaml_kind(data)}",
            line=2,
            hint="write one 'field: value' per line",
        )
    key_lines = top_level_key_lines(fm_lines)
    fields = build_fields(data, state, key_lines, fm_text)
    body = "\n".join(lines[close + 1 :]).strip("\n").rstrip()
    if not body.strip():
        state.warn("the body (the agent's system prompt) is empty", close + 1)
    try:
        definition = AgentDefinition(
            **fields,
            body=body,
            source=source,
            warnings=[message for _, message in state.warnings],
        )
    except ValidationError as exc:
        raise validation_error(exc, state, key_lines, fm_text, None) from None
    return definition.with_lines([line for line, _ in state.warnings], key_lines)
