"""Which tool calls need a person's approval: the definition's ``approval`` plus the
request's ``require_approval`` (which can only add). ``all-writes`` names every client tool
that changes the workspace. Only client tools (run by the gateway) can be paused; a server
tool runs at the model's side, so naming one is refused in a request and a lint warning in
a definition (docs/tools.md, "Approval")."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

__all__ = [
    "ALL_WRITES",
    "approvable_tools",
    "approval_tools",
    "unknown_approval_names",
    "write_tools",
]

#: The ``approval`` shorthand for every client tool that writes.
ALL_WRITES: Final = "all-writes"


def approvable_tools() -> frozenset[str]:
    """Tool names an approval list may name (the client tools of ``agents.tools``)."""
    from agents.tools.catalog import CLIENT_TOOL_NAMES

    return frozenset(CLIENT_TOOL_NAMES)


def write_tools() -> frozenset[str]:
    from agents.tools.catalog import CLIENT_TOOL_NAMES, READ_ONLY_TOOLS

    return frozenset(CLIENT_TOOL_NAMES) - READ_ONLY_TOOLS


def unknown_approval_names(names: Iterable[str]) -> list[str]:
    """The entries of an approval list that are neither ``all-writes`` nor a client tool."""
    known = approvable_tools()
    return [name for name in names if name != ALL_WRITES and name not in known]


def approval_tools(*lists: Iterable[str] | None) -> frozenset[str]:
    """The union of approval lists, ``all-writes`` expanded."""
    found: set[str] = set()
    for names in lists:
        for name in names or ():
            found |= write_tools() if name == ALL_WRITES else {name}
    return frozenset(found)
