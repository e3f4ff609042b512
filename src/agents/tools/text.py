"""Workspace files as text for the tools (binary files are listed, never returned)."""

from __future__ import annotations

from agents.tools.base import ToolInputError, WorkspaceFiles
from agents.tools.paths import shown

__all__ = ["MAX_LINE_CHARS", "clip", "numbered", "read_text", "text_or_none"]

#: Longer lines are cut when shown (Read, Grep content), as Claude Code does.
MAX_LINE_CHARS = 2000


def read_text(workspace: WorkspaceFiles, path: str) -> str:
    """The UTF-8 text of an existing file, else a :class:`ToolInputError` saying why not."""
    if workspace.is_dir(path):
        raise ToolInputError(f"EISDIR: {shown(path)} is a directory (use LS or Glob)")
    if not workspace.exists(path):
        raise ToolInputError(f"File does not exist: {shown(path)}")
    text = text_or_none(workspace, path)
    if text is None:
        size = len(workspace.read_bytes(path))
        raise ToolInputError(
            f"{shown(path)} is a binary file ({size} bytes): it can be listed but not read as text"
        )
    return text


def text_or_none(workspace: WorkspaceFiles, path: str) -> str | None:
    """The file's text, or None when it is binary (searches skip it)."""
    if workspace.is_binary(path):
        return None
    try:
        return workspace.read_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        return None


def clip(line: str) -> str:
    if len(line) <= MAX_LINE_CHARS:
        return line
    return line[:MAX_LINE_CHARS] + f"... [line truncated: {len(line)} characters]"


def numbered(lines: list[str], first: int) -> str:
    """``cat -n`` style: the line number right-aligned in six columns, a tab, the line."""
    return "\n".join(f"{first + index:>6}\t{clip(line)}" for index, line in enumerate(lines))
