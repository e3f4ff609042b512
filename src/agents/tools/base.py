"""What a client tool is, what it returns, and the one place a tool call is run.

A client tool runs in the function, over the invocation's workspace only. Its
failures (a bad path, a non-unique ``old_string``, an oversized Read) go back to
the model as ``is_error`` results; :func:`run_client_tool` never raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ValidationError

from agents.errors import GatewayError
from agents.observability import logger

if TYPE_CHECKING:
    from agents.tools.session import ToolSession

__all__ = [
    "MAX_RESULT_CHARS",
    "ClientTool",
    "ToolInputError",
    "ToolResult",
    "WorkspaceFiles",
    "run_client_tool",
]

#: The longest tool result handed back to the model (longer ones are cut, with a note).
MAX_RESULT_CHARS = 100_000


class ToolResult(BaseModel):
    """One tool call's answer: text for the model; ``is_error`` as Claude Code sets it."""

    content: str
    is_error: bool = False


class ToolInputError(ValueError):
    """The call cannot be done as asked (the message is for the model)."""


class WorkspaceFiles(Protocol):
    """The part of ``agents.workspace.Workspace`` the tools use (nothing else is reachable)."""

    ROOT: str

    def resolve(self, path: str) -> str: ...
    def exists(self, path: str) -> bool: ...
    def is_dir(self, path: str) -> bool: ...
    def read_bytes(self, path: str) -> bytes: ...
    def is_binary(self, path: str) -> bool: ...
    def write_bytes(self, path: str, data: bytes) -> None: ...
    def paths(self) -> list[str]: ...


class ClientTool(Protocol):
    """A Claude Code tool run by the gateway: same name, same input schema."""

    name: str

    def definition(self) -> dict[str, Any]: ...

    def run(
        self, workspace: WorkspaceFiles, tool_input: Mapping[str, Any], session: ToolSession
    ) -> ToolResult: ...


def _input_problems(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        where = ".".join(str(p) for p in error["loc"]) or "input"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def _bounded(result: ToolResult) -> ToolResult:
    if len(result.content) <= MAX_RESULT_CHARS:
        return result
    cut = result.content[:MAX_RESULT_CHARS]
    note = f"\n... [output truncated: {len(result.content)} characters, {MAX_RESULT_CHARS} shown]"
    return ToolResult(content=cut + note, is_error=result.is_error)


def run_client_tool(
    tool: ClientTool,
    workspace: WorkspaceFiles,
    tool_input: Mapping[str, Any],
    session: ToolSession,
) -> ToolResult:
    """Run one tool call; every failure becomes an ``is_error`` result (unexpected ones logged)."""
    session.count_call(tool.name)
    try:
        if not isinstance(tool_input, Mapping):
            raise ToolInputError("the tool input must be a JSON object")
        return _bounded(tool.run(workspace, tool_input, session))
    except ValidationError as exc:
        return ToolResult(content=f"InputValidationError: {_input_problems(exc)}", is_error=True)
    except (GatewayError, ToolInputError) as exc:
        return ToolResult(content=str(exc), is_error=True)
    except Exception:  # noqa: BLE001 - a tool failure goes back to the model
        logger.exception("client tool failed unexpectedly", extra={"tool": tool.name})
        return ToolResult(
            content=f"{tool.name} failed with an internal error; the call had no effect",
            is_error=True,
        )
