"""The frontmatter's YAML: strict load, the one lenient fallback, line-accurate errors.

Every line number given out is a file line (the ``---`` opener is line 1).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from agents.definitions.parse_state import ParseState
from agents.errors import DefinitionError

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: File line of the frontmatter's first line (the ``---`` opener is line 1).
FIRST_FRONTMATTER_LINE = 2

_TOP_LEVEL_KEY = re.compile(r"(?P<key>[A-Za-z_][A-Za-z0-9_\-]*)[ \t]*:(?:[ \t]|$)")
# A top-level ``key: value`` line whose plain (unquoted) value is on one line.
_ONE_LINE_VALUE = re.compile(
    r"(?P<key>[A-Za-z_][A-Za-z0-9_\-]*)[ \t]*:[ \t]+"
    r"(?P<value>[^\s\"'|>\[\]{}&*!%@`#,?:-].*?|-[^\s-].*?)[ \t]*"
)
# ``--- name: x ...``: the opener followed by more text, the file's newlines lost.
_FLATTENED_OPENER = re.compile(r"---[ \t]+\S")


def missing_opener_error(text: str, state: ParseState) -> DefinitionError:
    """The error for a file whose first line is not ``---`` (lost newlines named)."""
    first = text.split("\n", 1)[0].rstrip()
    if _FLATTENED_OPENER.match(first):
        one_line = len(text.strip().split("\n")) == 1
        return state.error(
            "the line breaks are missing: the frontmatter opener '---' is followed by "
            "more text on the same line" + (" (the whole file is on one line)" if one_line else ""),
            line=1,
            hint="restore the file's newlines; '---' must be alone on the first line, "
            "each field on its own line, and a line with only '---' must close the frontmatter",
        )
    if not text.strip():
        return state.error(
            "the definition is empty",
            line=1,
            hint="start with a YAML frontmatter block: ---, name: <agent-name>, ---",
        )
    return state.error(
        "no YAML frontmatter: the first line must be exactly '---'",
        line=1,
        hint="start the file with ---, then name:/description:/model: lines, then ---",
    )


def top_level_key_lines(fm_lines: list[str]) -> dict[str, int]:
    """File line of each top-level key (the first occurrence)."""
    found: dict[str, int] = {}
    for index, line in enumerate(fm_lines):
        match = _TOP_LEVEL_KEY.match(line)
        if match and match["key"] not in found:
            found[match["key"]] = index + FIRST_FRONTMATTER_LINE
    return found


def _load(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


def load_frontmatter(fm_text: str, state: ParseState) -> tuple[Any, str]:
    """The YAML value and the text it came from (the quoted text when lenient)."""
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
                    state.warn(
                        f"invalid YAML: the value of '{key}' contains an unquoted ': '; "
                        "parsed leniently as a quoted string (quote the value to fix)",
                        line,
                    )
                return data, fixed
        raise _yaml_error(strict, fm_text, state) from None
    except (ValueError, TypeError, OverflowError) as exc:
        # e.g. a date-like scalar that is not a date (2025-13-45), an int too long.
        raise state.error(
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
        fixed.append((index + FIRST_FRONTMATTER_LINE, match["key"]))
    return "\n".join(lines), fixed


def _yaml_error(exc: yaml.YAMLError, fm_text: str, state: ParseState) -> DefinitionError:
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
    line = None if fm_line is None else fm_line + FIRST_FRONTMATTER_LINE
    return state.error(detail, line=line, hint=_yaml_hint(str(problem), offending))


def _yaml_hint(problem: str, offending: str) -> str:
    if "\t" in offending or "tab" in problem.lower():
        return "indent YAML with spaces, not tabs"
    if offending.count(": ") > 1 or "mapping values are not allowed" in problem:
        key = offending.split(":", 1)[0].strip() or "field"
        return f'quote the value, e.g. {key}: "..." (a value may not contain an unquoted ": ")'
    if "found character" in problem and "cannot start any token" in problem:
        return "quote the value: it starts with a character YAML reserves (@, `, % ...)"
    return (
        "check the YAML syntax on this line; quote values containing ': ', ' #' "
        "or starting with a special character"
    )


def locate(fm_text: str, loc: tuple[Any, ...]) -> int | None:
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
            line = match[0].start_mark.line + FIRST_FRONTMATTER_LINE
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + FIRST_FRONTMATTER_LINE
        else:
            break
    return line
