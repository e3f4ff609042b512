"""Claude Code's rules for changing a file, shared by Write, Edit and MultiEdit."""

from __future__ import annotations

from agents.tools.base import ToolInputError, WorkspaceFiles
from agents.tools.paths import shown
from agents.tools.session import ToolSession
from agents.tools.text import numbered, read_text

__all__ = ["apply_edit", "current_text", "require_read", "snippet", "write_text"]

_SNIPPET_CONTEXT = 4
_ECHO_CHARS = 300


def require_read(workspace: WorkspaceFiles, path: str, session: ToolSession) -> None:
    """An existing file must have been Read in this session before it is changed."""
    if workspace.exists(path) and not session.was_read(path):
        raise ToolInputError(
            f"File has not been read yet: Read {shown(path)} first before writing to it."
        )


def _echo(text: str) -> str:
    return text if len(text) <= _ECHO_CHARS else text[:_ECHO_CHARS] + "..."


def apply_edit(content: str, old: str, new: str, *, replace_all: bool) -> tuple[str, int]:
    """``content`` with ``old`` replaced, and where the first change starts."""
    if old == new:
        raise ToolInputError("No changes to make: old_string and new_string are exactly the same.")
    if not old:
        raise ToolInputError(
            "old_string is empty: an empty old_string only creates a new (or empty) file"
        )
    count = content.count(old)
    if count == 0:
        raise ToolInputError(f"String to replace not found in file.\nString: {_echo(old)}")
    if count > 1 and not replace_all:
        raise ToolInputError(
            f"Found {count} matches of the string to replace, but replace_all is false. To "
            "replace all occurrences, set replace_all to true. To replace only one "
            "occurrence, please provide more context to uniquely identify the instance.\n"
            f"String: {_echo(old)}"
        )
    where = content.index(old)
    changed = content.replace(old, new) if replace_all else content.replace(old, new, 1)
    return changed, where


def current_text(workspace: WorkspaceFiles, path: str) -> str | None:
    """The file's text, None when it does not exist yet (a binary file is an error)."""
    if not workspace.exists(path) and not workspace.is_dir(path):
        return None
    return read_text(workspace, path)


def write_text(workspace: WorkspaceFiles, path: str, text: str, session: ToolSession) -> None:
    """Store ``text`` (UTF-8); the workspace enforces its size and count limits."""
    workspace.write_bytes(path, text.encode("utf-8"))
    session.mark_written(path)


def snippet(path: str, content: str, where: int) -> str:
    """Claude Code's confirmation: the edited region in ``cat -n`` form."""
    lines = content.splitlines()
    line = content.count("\n", 0, where)
    first = max(line - _SNIPPET_CONTEXT, 0)
    last = min(line + _SNIPPET_CONTEXT + 1, len(lines))
    return (
        f"The file {shown(path)} has been updated. Here's the result of running `cat -n` on "
        f"a snippet of the edited file:\n{numbered(lines[first:last], first + 1)}"
    )
