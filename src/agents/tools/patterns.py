"""Glob and regular-expression patterns, bounded so that no pattern runs away.

Globs follow Claude Code (``**/*.py``, ``src/*.{ts,tsx}``): braces, ``*`` and ``?``
within a segment, ``[...]`` classes, ``**`` across folders. Regexes are Python
``re``: the pattern length is capped, nested unbounded repeats (``(a+)+``, the
classic catastrophic backtracking) are refused, and the input is bounded by the
workspace limits.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

from agents.tools.base import ToolInputError

__all__ = ["MAX_PATTERN_CHARS", "compile_regex", "expand_braces", "glob_matcher"]

MAX_PATTERN_CHARS = 1000
MAX_BRACE_EXPANSIONS = 64

_parser: Any = importlib.import_module("re._parser")
_UNBOUNDED = ("MAX_REPEAT", "MIN_REPEAT")


def expand_braces(pattern: str) -> list[str]:
    """``a.{js,ts}`` -> ``["a.js", "a.ts"]`` (nested braces too; bounded)."""
    results: list[str] = []
    pending = [pattern]
    while pending:
        item = pending.pop()
        start, end = _first_brace_group(item)
        if start < 0:
            results.append(item)
        else:
            for option in reversed(_split_options(item[start + 1 : end])):
                pending.append(item[:start] + option + item[end + 1 :])
        if len(results) + len(pending) > MAX_BRACE_EXPANSIONS:
            raise ToolInputError(f"the pattern expands to more than {MAX_BRACE_EXPANSIONS} globs")
    return results


def _first_brace_group(text: str) -> tuple[int, int]:
    depth, start = 0, -1
    for index, char in enumerate(text):
        if char == "{":
            if depth == 0:
                start = index
            depth += 1
        elif char == "}" and depth:
            depth -= 1
            if depth == 0 and "," in text[start:index]:
                return start, index
    return -1, -1


def _split_options(body: str) -> list[str]:
    options: list[str] = []
    current: list[str] = []
    depth = 0
    for char in body:
        if char == "," and depth == 0:
            options.append("".join(current))
            current = []
            continue
        depth += char == "{"
        depth -= char == "}" and depth > 0
        current.append(char)
    options.append("".join(current))
    return options


def _check_length(pattern: str) -> None:
    if not pattern:
        raise ToolInputError("the pattern is empty")
    if len(pattern) > MAX_PATTERN_CHARS:
        raise ToolInputError(f"the pattern is longer than {MAX_PATTERN_CHARS} characters")


def glob_matcher(pattern: str) -> Callable[[str], bool]:
    """A test for relative posix paths: ``*`` stays in a segment, ``**/`` spans folders."""
    _check_length(pattern)
    compiled = [re.compile(_translate(item)) for item in expand_braces(pattern)]
    return lambda path: any(regex.match(path) for regex in compiled)


def _translate(pattern: str) -> str:
    """One brace-free glob as a regular expression over a relative posix path."""
    parts = pattern.split("/")
    out = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "**":
            out.append(".*" if last else "(?:[^/]+/)*")
        else:
            out.append(_segment(part) + ("" if last else "/"))
    return "(?s:" + "".join(out) + r")\Z"


def _segment(part: str) -> str:
    out = []
    index = 0
    while index < len(part):
        char = part[index]
        index += 1
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[" and (end := part.find("]", index + 1)) > 0:
            body = part[index:end]
            negate = body[:1] in ("!", "^")
            body = body[1:] if negate else body
            out.append(("[^" if negate else "[") + body.replace("\\", "\\\\") + "]")
            index = end + 1
        else:
            out.append(re.escape(char))
    return "".join(out)


def compile_regex(pattern: str, *, ignore_case: bool, multiline: bool) -> re.Pattern[str]:
    """Compile a Grep pattern or raise :class:`ToolInputError` saying why not."""
    _check_length(pattern)
    flags = re.MULTILINE | (re.IGNORECASE if ignore_case else 0)
    if multiline:
        flags |= re.DOTALL
    try:
        parsed = _parser.parse(pattern, flags)
    except re.error as exc:
        raise ToolInputError(f"invalid regular expression: {exc}") from None
    if _nested_unbounded(parsed, inside=False):
        raise ToolInputError(
            "the regular expression nests unbounded repeats (like (a+)+), which can run "
            "for ever; rewrite it without the nested repeat"
        )
    return re.compile(pattern, flags)


def _nested_unbounded(items: Any, *, inside: bool) -> bool:
    for op, arg in items:
        if str(op) in _UNBOUNDED:
            _low, high, body = arg
            unbounded = high == _parser.MAXREPEAT
            if unbounded and inside:
                return True
            if _nested_unbounded(body, inside=inside or unbounded):
                return True
            continue
        if str(op) in ("POSSESSIVE_REPEAT", "ATOMIC_GROUP"):
            continue
        for child in _children(arg):
            if _nested_unbounded(child, inside=inside):
                return True
    return False


def _children(arg: Any) -> list[Any]:
    if isinstance(arg, _parser.SubPattern):
        return [arg]
    if isinstance(arg, tuple | list):
        found: list[Any] = []
        for item in arg:
            found.extend(_children(item))
        return found
    return []
