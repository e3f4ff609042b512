"""Grep: search the workspace's text files with a regular expression (Claude Code's Grep).

The output follows ripgrep as Claude Code shows it: ``files_with_matches`` (the
default), ``count`` or ``content`` with ``-n`` and ``-A/-B/-C`` context.
Binary files are skipped. A search stops after :data:`GREP_SECONDS` with what it found.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.tools.base import ToolInputError, ToolResult, WorkspaceFiles
from agents.tools.glob_tool import relative_to
from agents.tools.grep_schema import FILE_TYPES, GREP_SCHEMA
from agents.tools.paths import ROOT, files_under, in_listing_order, resolve_dir, shown
from agents.tools.patterns import compile_regex, glob_matcher
from agents.tools.session import ToolSession
from agents.tools.text import clip, text_or_none

__all__ = ["GREP_SECONDS", "GrepTool"]

#: Wall-clock bound of one search (checked between files and every few thousand lines).
GREP_SECONDS = 10.0
_CHECK_EVERY = 2000


class GrepInput(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    pattern: str
    path: str | None = None
    glob: str | None = None
    type: str | None = None
    output_mode: Literal["content", "files_with_matches", "count"] = "files_with_matches"
    before: int = Field(default=0, ge=0, alias="-B")
    after: int = Field(default=0, ge=0, alias="-A")
    context: int | None = Field(default=None, ge=0, alias="-C")
    line_numbers: bool = Field(default=False, alias="-n")
    ignore_case: bool = Field(default=False, alias="-i")
    head_limit: int | None = Field(default=None, ge=0)
    multiline: bool = False


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds
        self.hit = False

    def passed(self) -> bool:
        self.hit = self.hit or time.monotonic() > self._end
        return self.hit


def _file_filter(args: GrepInput, base: str) -> Callable[[str], bool]:
    tests: list[Callable[[str], bool]] = []
    if args.glob:
        matcher = glob_matcher(args.glob)
        if "/" in args.glob:
            tests.append(lambda path: matcher(relative_to(path, base)))
        else:
            tests.append(lambda path: matcher(path.rsplit("/", 1)[-1]))
    if args.type:
        suffixes = FILE_TYPES.get(args.type.lower())
        if suffixes is None:
            known = ", ".join(sorted(FILE_TYPES))
            raise ToolInputError(f"unknown file type {args.type[:50]!r}; known types: {known}")
        tests.append(lambda path: path.rsplit("/", 1)[-1].endswith(suffixes))
    return lambda path: all(test(path) for test in tests)


def _matching_lines(
    regex: re.Pattern[str], text: str, lines: list[str], multiline: bool, deadline: _Deadline
) -> tuple[list[int], int]:
    """Indexes of matching lines, and the number of matches (one per line unless multiline)."""
    if not multiline:
        hits = []
        for index, line in enumerate(lines):
            if index % _CHECK_EVERY == 0 and deadline.passed():
                break
            if regex.search(line):
                hits.append(index)
        return hits, len(hits)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    found: set[int] = set()
    total = 0
    for total, match in enumerate(regex.finditer(text), start=1):
        first = _line_of(starts, match.start())
        last = _line_of(starts, max(match.end() - 1, match.start()))
        found.update(range(first, min(last, len(lines) - 1) + 1))
        if total % _CHECK_EVERY == 0 and deadline.passed():
            break
    return sorted(found), total


def _line_of(starts: list[int], offset: int) -> int:
    low, high = 0, len(starts) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if starts[middle] <= offset:
            low = middle
        else:
            high = middle - 1
    return low


def _content_lines(
    name: str | None, lines: list[str], hits: list[int], args: GrepInput
) -> list[str]:
    before = args.context if args.context is not None else args.before
    after = args.context if args.context is not None else args.after
    hit_set = set(hits)
    shown_lines: list[int] = []
    for index in hits:
        for near in range(max(index - before, 0), min(index + after, len(lines) - 1) + 1):
            if not shown_lines or near > shown_lines[-1]:
                shown_lines.append(near)
    out: list[str] = []
    previous = None
    for index in shown_lines:
        if previous is not None and index > previous + 1:
            out.append("--")
        sep = ":" if index in hit_set else "-"
        prefix = f"{name}{sep}" if name else ""
        if args.line_numbers:
            prefix += f"{index + 1}{sep}"
        out.append(prefix + clip(lines[index]))
        previous = index
    return out


class GrepTool:
    name = "Grep"

    def definition(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": (
                f"Searches the text files of the workspace ({ROOT}) with a regular expression "
                "(Python re syntax, close to ripgrep's). Filter files with glob or type. "
                'output_mode "files_with_matches" (default) lists files, "count" counts '
                'matches, "content" shows matching lines (with -n, -A, -B, -C). multiline '
                "lets patterns span lines. Binary files are skipped."
            ),
            "input_schema": GREP_SCHEMA,
        }

    def run(
        self, workspace: WorkspaceFiles, tool_input: Mapping[str, Any], session: ToolSession
    ) -> ToolResult:
        args = GrepInput.model_validate(tool_input)
        base = resolve_dir(workspace, args.path)
        regex = compile_regex(args.pattern, ignore_case=args.ignore_case, multiline=args.multiline)
        wanted = _file_filter(args, base)
        single = bool(base) and not workspace.is_dir(base)
        deadline = _Deadline(GREP_SECONDS)
        candidates = in_listing_order(
            (p for p in files_under(workspace, base) if wanted(p)), session
        )
        output: list[str] = []
        files = 0
        total = 0
        for path in candidates:
            if deadline.passed():
                break
            text = text_or_none(workspace, path)
            if text is None:
                continue
            lines = text.splitlines()
            hits, count = _matching_lines(regex, text, lines, args.multiline, deadline)
            if not hits:
                continue
            files += 1
            total += count
            if args.output_mode == "files_with_matches":
                output.append(shown(path))
            elif args.output_mode == "count":
                output.append(f"{shown(path)}:{count}")
            else:
                output.extend(_content_lines(None if single else shown(path), lines, hits, args))
        return ToolResult(content=_render(args, output, files, total, deadline.hit))


def _render(args: GrepInput, output: list[str], files: int, total: int, stopped: bool) -> str:
    if args.head_limit is not None:
        output = output[: args.head_limit]
    note = (
        f"\n(The search stopped after {GREP_SECONDS:g} s; results are partial.)" if stopped else ""
    )
    if not files:
        empty = "No files found" if args.output_mode == "files_with_matches" else "No matches found"
        return empty + note
    body = "\n".join(output)
    if args.output_mode == "files_with_matches":
        return f"Found {files} file{'s' if files != 1 else ''}\n{body}{note}"
    if args.output_mode == "count":
        return (
            f"{body}\n\nFound {total} total occurrence{'s' if total != 1 else ''} "
            f"across {files} file{'s' if files != 1 else ''}.{note}"
        )
    return body + note
