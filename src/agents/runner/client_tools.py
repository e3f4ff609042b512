"""Running one turn's client tool calls: the toolbox a loop uses (:class:`ClientToolbox`),
the default one over a workspace (:func:`workspace_toolbox`, the tools of ``agents.tools``),
and :func:`run_tool_calls`, which runs independent calls concurrently and answers in order."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from agents.observability import logger

if TYPE_CHECKING:
    from agents.tools import WorkspaceFiles

__all__ = [
    "WRITE_TOOLS",
    "ClientToolbox",
    "ToolCallResult",
    "ToolPlanLike",
    "replay_tool_session",
    "run_tool_calls",
    "workspace_toolbox",
]

#: Client tools that change the workspace: each runs alone, in the model's order.
WRITE_TOOLS = frozenset({"Write", "Edit", "MultiEdit", "NotebookEdit"})
#: Threads for one turn's concurrent read calls.
MAX_PARALLEL_TOOL_CALLS = 8


class ToolPlanLike(Protocol):
    """What the loop reads from ``agents.tools.ToolPlan``."""

    @property
    def client_tools(self) -> list[str]: ...
    @property
    def mcp_servers(self) -> list[dict[str, Any]]: ...
    @property
    def betas(self) -> list[str]: ...
    @property
    def unavailable(self) -> list[str]: ...
    def tool_definitions(self) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class ToolCallResult:
    content: str
    is_error: bool = False


class ClientToolbox(Protocol):
    """Runs one client tool call; never raises (a failure is an ``is_error`` result)."""

    def run(self, name: str, tool_input: Mapping[str, Any]) -> ToolCallResult: ...


class _WorkspaceToolbox:
    """The plan's client tools of ``agents.tools`` over one workspace and one tool session."""

    def __init__(self, workspace: WorkspaceFiles | None, offered: Sequence[str]) -> None:
        from agents.tools import ToolSession

        self._workspace = workspace
        self._offered = frozenset(offered)
        self._session = ToolSession()

    def run(self, name: str, tool_input: Mapping[str, Any]) -> ToolCallResult:
        if name not in self._offered:
            return ToolCallResult(f"<tool_use_error>No such tool: {name}</tool_use_error>", True)
        if self._workspace is None:
            return ToolCallResult(
                "<tool_use_error>This run has no workspace</tool_use_error>", True
            )
        from agents.tools import client_tool, run_client_tool

        result = run_client_tool(client_tool(name), self._workspace, tool_input, self._session)
        return ToolCallResult(result.content, result.is_error)


def workspace_toolbox(workspace: WorkspaceFiles | None, plan: ToolPlanLike) -> ClientToolbox:
    """The default toolbox: ``plan.client_tools`` over ``workspace`` (None: every call errs)."""
    return _WorkspaceToolbox(workspace, plan.client_tools)


def _safe_run(toolbox: ClientToolbox, call: Mapping[str, Any]) -> ToolCallResult:
    try:
        return toolbox.run(str(call["name"]), call.get("input") or {})
    except Exception:  # noqa: BLE001 - a tool never fails the run
        logger.exception("tool raised", extra={"tool": call.get("name")})
        return ToolCallResult("<tool_use_error>The tool failed unexpectedly</tool_use_error>", True)


def run_tool_calls(
    toolbox: ClientToolbox, calls: Sequence[Mapping[str, Any]], *, timeout_s: float
) -> list[ToolCallResult]:
    """Results of ``calls`` in their order. Consecutive read calls run concurrently; a write
    call (:data:`WRITE_TOOLS`) runs alone, after the ones before it. A call still running
    after ``timeout_s`` answers an ``is_error`` result (the loop then stops at its deadline)."""
    results: list[ToolCallResult | None] = [None] * len(calls)
    groups: list[list[int]] = []
    for index, call in enumerate(calls):
        if call["name"] in WRITE_TOOLS or not groups or calls[groups[-1][0]]["name"] in WRITE_TOOLS:
            groups.append([index])
        else:
            groups[-1].append(index)
    pool = concurrent.futures.ThreadPoolExecutor(
        max_workers=min(MAX_PARALLEL_TOOL_CALLS, max(1, len(calls))), thread_name_prefix="tool"
    )
    try:
        import time

        end = time.monotonic() + max(timeout_s, 0.0)
        for group in groups:
            futures = {pool.submit(_safe_run, toolbox, calls[i]): i for i in group}
            done, _ = concurrent.futures.wait(futures, timeout=max(end - time.monotonic(), 0.0))
            for future, index in futures.items():
                results[index] = (
                    future.result()
                    if future in done
                    else ToolCallResult(
                        "<tool_use_error>The tool ran out of time</tool_use_error>", True
                    )
                )
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return [
        found
        if found is not None
        else ToolCallResult("<tool_use_error>not run</tool_use_error>", True)
        for found in results
    ]


def replay_tool_session(toolbox: ClientToolbox, transcript: Sequence[Mapping[str, Any]]) -> None:
    """A resumed run's toolbox learns what its earlier turns read and wrote (Edit and Write
    of an existing file need a Read in the same session; decision 15.9)."""
    if not isinstance(toolbox, _WorkspaceToolbox) or toolbox._workspace is None:
        return
    from agents.errors import GatewayError
    from agents.tools.base import ToolInputError
    from agents.tools.paths import resolve_file

    for turn in transcript:
        for call in turn.get("tool_calls") or []:
            name, tool_input = call.get("name"), call.get("input") or {}
            raw = tool_input.get("file_path") if isinstance(tool_input, Mapping) else None
            if call.get("is_error") or not isinstance(raw, str):
                continue
            try:
                path = resolve_file(toolbox._workspace, raw)
            except (ToolInputError, GatewayError, ValueError):
                continue
            if name in WRITE_TOOLS:
                toolbox._session.mark_written(path)
            elif name == "Read":
                toolbox._session.mark_read(path)
