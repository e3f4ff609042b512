"""The offline model's tool use: Glob, Read a few files, Grep, Edit (or Write), then answer.

Each step is decided from the conversation so far (which tools were called and
what they returned), so the same conversation always gets the same next turn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from local.fake_anthropic.conversation import (
    ToolCall,
    client_tool_names,
    first_user_text,
    tool_calls,
    tool_id,
)

__all__ = [
    "MAX_READS",
    "NOTES_FILE",
    "WRITE_TOOLS",
    "ClientStep",
    "files_changed",
    "next_client_step",
]

#: How many files the policy Reads (in one turn, as parallel tool calls).
MAX_READS = 3
#: The file the policy Writes when it cannot Edit.
NOTES_FILE = "OFFLINE_MODEL_NOTES.md"
WRITE_TOOLS = frozenset({"Edit", "Write", "MultiEdit"})
_ROOT = "/workspace/"
_EDIT_NOTE = "Reviewed by the offline model (agent-gateway's fake Messages API)."
_MAX_ANCHOR_CHARS = 200
_HASH_COMMENTS = (".py", ".sh", ".bash", ".rb", ".yml", ".yaml", ".toml", ".cfg", ".ini", ".r")
_SLASH_COMMENTS = (".js", ".jsx", ".ts", ".tsx", ".go", ".rs", ".java", ".kt", ".c", ".h", ".cc")
_SLASH_COMMENTS_MORE = (".cpp", ".hpp", ".cs", ".swift", ".scala", ".php", ".dart")
#: The line-comment prefix per file suffix ("" for prose files; absent: never edited).
_COMMENT_PREFIX: dict[str, str] = {
    **dict.fromkeys(_HASH_COMMENTS, "#"),
    **dict.fromkeys(_SLASH_COMMENTS, "//"),
    **dict.fromkeys(_SLASH_COMMENTS_MORE, "//"),
    **dict.fromkeys((".sql", ".lua", ".hs"), "--"),
    **dict.fromkeys((".md", ".txt", ".rst"), ""),
}
_STOPWORDS = frozenset({
    "this", "that", "with", "from", "into", "your", "what", "when", "where", "which", "there",
    "their", "they", "them", "then", "than", "have", "will", "would", "should", "could", "does",
    "make", "please", "file", "files", "code", "function", "each", "also", "only", "about",
    "after", "before",
})  # fmt: skip
_NUMBERED_LINE = re.compile(r"^\s*(\d+)(?:\t|\u2192)(.*)$")


@dataclass(frozen=True)
class ClientStep:
    """The next client turn: tool_use blocks, or none (the final answer is due)."""

    tool_uses: list[dict[str, Any]]
    #: Workspace paths the run changed so far (None when no write tool is offered).
    files_changed: list[str] | None


def _relative(path: str) -> str:
    return path.removeprefix(_ROOT).removeprefix("./").lstrip("/")


def _glob_paths(call: ToolCall | None) -> list[str]:
    if call is None or call.is_error or not call.result:
        return []
    paths = []
    for raw in call.result.splitlines():
        line = raw.strip()
        if not line or (" " in line and not line.startswith(_ROOT)) or line.startswith("("):
            continue
        if line.startswith("/") and not line.startswith(_ROOT):
            continue
        paths.append(line)
    return paths


def _read_order(paths: list[str], task: str) -> list[str]:
    """Files named in the task first, then files the policy can comment in, then the rest."""

    def rank(path: str) -> tuple[int, int]:
        name = PurePosixPath(_relative(path)).name
        named = 0 if name and name in task else 1
        known = 0 if PurePosixPath(name).suffix.lower() in _COMMENT_PREFIX else 1
        return (named, known)

    return sorted(paths, key=rank)


def _file_lines(call: ToolCall) -> list[str] | None:
    """A successful Read's file content as lines (the numbers of ``cat -n`` removed)."""
    if call.is_error or call.result is None:
        return None
    lines = []
    for raw in call.result.splitlines():
        match = _NUMBERED_LINE.match(raw)
        if match:
            lines.append(match.group(2))
    return lines if lines else None


def _task_word(task: str, read_text: str) -> str:
    words = [
        w for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]{3,}", task) if w.lower() not in _STOPWORDS
    ]
    found = next((word for word in words if word in read_text), None)
    return found or (max(words, key=len) if words else "TODO")


def _edit_for(call: ToolCall) -> dict[str, Any] | None:
    """An Edit whose ``old_string`` is a unique line of the Read file: a note after it."""
    path = str(call.input.get("file_path", ""))
    suffix = PurePosixPath(path).suffix.lower()
    prefix = _COMMENT_PREFIX.get(suffix)
    lines = _file_lines(call)
    if prefix is None or lines is None:
        return None
    text = "\n".join(lines)

    def usable(line: str) -> bool:
        return (
            bool(line.strip())
            and len(line) <= _MAX_ANCHOR_CHARS
            and not line.rstrip().endswith("\\")
            and '"""' not in line
            and "'''" not in line
            and text.count(line) == 1
        )

    todo = [line for line in lines if "TODO" in line and usable(line)]
    anchors = todo or [line for line in reversed(lines) if usable(line)]
    if not anchors:
        return None
    anchor = anchors[0]
    indent = anchor[: len(anchor) - len(anchor.lstrip())]
    note = f"{prefix} {_EDIT_NOTE}" if prefix else _EDIT_NOTE
    if todo:
        note = f"{prefix} Offline model: the TODO above is noted; a real model would resolve it."
        note = note.lstrip()
    return {"file_path": path, "old_string": anchor, "new_string": f"{anchor}\n{indent}{note}"}


def files_changed(calls: list[ToolCall]) -> list[str]:
    """Workspace paths a successful Write/Edit/MultiEdit changed, in order, once each."""
    changed: list[str] = []
    for call in calls:
        if call.name in WRITE_TOOLS and call.result is not None and not call.is_error:
            path = _relative(str(call.input.get("file_path", "")))
            if path and path not in changed:
                changed.append(path)
    return changed


def next_client_step(body: dict[str, Any]) -> ClientStep:
    """What the offline model does next with the client tools the request offers."""
    offered = client_tool_names(body)
    calls = tool_calls(body)
    done = {call.name for call in calls}
    task = first_user_text(body)
    changed = files_changed(calls) if offered & WRITE_TOOLS or done & WRITE_TOOLS else None

    def step(*uses: tuple[str, dict[str, Any]]) -> ClientStep:
        blocks = [
            {"type": "tool_use", "id": tool_id(body, "toolu", n), "name": name, "input": args}
            for n, (name, args) in enumerate(uses)
        ]
        return ClientStep(tool_uses=blocks, files_changed=changed)

    if (body.get("tool_choice") or {}).get("type") == "none":
        return step()
    if "Glob" in offered and "Glob" not in done:
        return step(("Glob", {"pattern": "**/*"}))
    paths = _glob_paths(next((c for c in calls if c.name == "Glob"), None))
    if "Read" in offered and "Read" not in done and paths:
        chosen = _read_order(paths, task)[:MAX_READS]
        return step(*(("Read", {"file_path": path}) for path in chosen))
    reads = [call for call in calls if call.name == "Read"]
    if "Grep" in offered and "Grep" not in done and paths:
        read_text = "\n".join("\n".join(_file_lines(c) or []) for c in reads)
        pattern = re.escape(_task_word(task, read_text))
        return step(("Grep", {"pattern": pattern, "output_mode": "content", "-n": True}))
    if not done & WRITE_TOOLS and paths:
        edit = next((e for e in map(_edit_for, reads) if e is not None), None)
        if "Edit" in offered and edit is not None:
            return step(("Edit", edit))
        if "Write" in offered and NOTES_FILE not in {_relative(p) for p in paths}:
            content = _notes(task, [_relative(str(c.input.get("file_path", ""))) for c in reads])
            return step(("Write", {"file_path": _ROOT + NOTES_FILE, "content": content}))
    return step()


def _notes(task: str, read: list[str]) -> str:
    excerpt = " ".join(task.split())[:160]
    listed = "\n".join(f"- `{path}`" for path in read) or "- (no files were read)"
    return (
        "# Offline model notes\n\n"
        "Written by agent-gateway's fake Messages API (OFFLINE, not Claude) for the task:\n\n"
        f"> {excerpt}\n\nFiles read:\n\n{listed}\n"
    )
