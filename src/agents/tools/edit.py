"""Edit and MultiEdit: exact string replacements in a workspace file (Claude Code's rules).

``old_string`` must occur exactly once unless ``replace_all``; the file must have
been Read in this session; an empty ``old_string`` creates a new file. MultiEdit
applies its edits in order to the text in memory and writes once: all or nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agents.tools.base import ToolInputError, ToolResult, WorkspaceFiles
from agents.tools.edit_rules import apply_edit, current_text, require_read, snippet, write_text
from agents.tools.paths import ROOT, resolve_file, shown
from agents.tools.schema import tool_schema
from agents.tools.session import ToolSession

__all__ = ["EditTool", "MultiEditTool"]


class EditOperation(BaseModel):
    model_config = ConfigDict(extra="ignore")

    old_string: str
    new_string: str
    replace_all: bool = False


class EditInput(EditOperation):
    file_path: str


class MultiEditInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    file_path: str
    edits: list[EditOperation] = Field(min_length=1)


_EDIT_PROPERTIES: dict[str, Any] = {
    "old_string": {"type": "string", "description": "The text to replace"},
    "new_string": {
        "type": "string",
        "description": "The text to replace it with (must be different from old_string)",
    },
    "replace_all": {
        "type": "boolean",
        "default": False,
        "description": "Replace all occurences of old_string (default false)",
    },
}


def _edited(original: str | None, path: str, edits: list[EditOperation]) -> tuple[str, int]:
    """The new text after ``edits`` in order, and where the first change is."""
    text = original
    where = 0
    earlier_new: list[str] = []
    for number, edit in enumerate(edits, start=1):
        label = f"edit {number}: " if len(edits) > 1 else ""
        if text is None or (not edit.old_string and not text):
            if edit.old_string:
                raise ToolInputError(f"{label}File does not exist: {shown(path)}")
            text, where = edit.new_string, 0
            earlier_new.append(edit.new_string)
            continue
        if not edit.old_string:
            raise ToolInputError(f"{label}Cannot create new file - {shown(path)} already exists.")
        if any(edit.old_string in new for new in earlier_new if new):
            raise ToolInputError(
                f"{label}Cannot edit file: old_string is a substring of a new_string from a "
                "previous edit."
            )
        try:
            text, position = apply_edit(
                text, edit.old_string, edit.new_string, replace_all=edit.replace_all
            )
        except ToolInputError as exc:
            raise ToolInputError(f"{label}{exc}") from None
        where = position if number == 1 else min(where, position)
        earlier_new.append(edit.new_string)
    assert text is not None
    return text, where


def _run_edits(
    workspace: WorkspaceFiles, raw_path: str, edits: list[EditOperation], session: ToolSession
) -> ToolResult:
    path = resolve_file(workspace, raw_path)
    with session.writing():
        original = current_text(workspace, path)
        if original is not None:
            require_read(workspace, path, session)
        text, where = _edited(original, path, edits)
        write_text(workspace, path, text, session)
    if original is None:
        return ToolResult(content=f"File created successfully at: {shown(path)}")
    return ToolResult(content=snippet(path, text, where))


class EditTool:
    name = "Edit"

    def definition(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": (
                f"Performs an exact string replacement in a workspace file ({ROOT}). Read the "
                "file first. old_string must match the file exactly (without the line-number "
                "prefix Read shows) and be unique, unless replace_all is true. An empty "
                "old_string creates a new file."
            ),
            "input_schema": tool_schema(
                {
                    "file_path": {
                        "type": "string",
                        "description": "The absolute path to the file to modify",
                    },
                    **_EDIT_PROPERTIES,
                },
                required=["file_path", "old_string", "new_string"],
            ),
        }

    def run(
        self, workspace: WorkspaceFiles, tool_input: Mapping[str, Any], session: ToolSession
    ) -> ToolResult:
        args = EditInput.model_validate(tool_input)
        operation = EditOperation.model_validate(args.model_dump(exclude={"file_path"}))
        return _run_edits(workspace, args.file_path, [operation], session)


class MultiEditTool:
    name = "MultiEdit"

    def definition(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": (
                f"Makes several exact string replacements in one workspace file ({ROOT}), in "
                "order, each on the result of the one before. Either all succeed or none is "
                "applied. Each edit follows Edit's rules; Read the file first."
            ),
            "input_schema": tool_schema(
                {
                    "file_path": {
                        "type": "string",
                        "description": "The absolute path to the file to modify",
                    },
                    "edits": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": _EDIT_PROPERTIES,
                            "required": ["old_string", "new_string"],
                            "additionalProperties": False,
                        },
                        "minItems": 1,
                        "description": "Array of edit operations to perform sequentially on "
                        "the file",
                    },
                },
                required=["file_path", "edits"],
            ),
        }

    def run(
        self, workspace: WorkspaceFiles, tool_input: Mapping[str, Any], session: ToolSession
    ) -> ToolResult:
        args = MultiEditInput.model_validate(tool_input)
        return _run_edits(workspace, args.file_path, args.edits, session)
