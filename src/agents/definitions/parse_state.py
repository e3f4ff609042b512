"""Per-parse state: the path for messages, the collected warnings, the node budget."""

from __future__ import annotations

from agents.errors import DefinitionError


class ParseState:
    """What one :func:`agents.definitions.parse_definition` call accumulates."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.warnings: list[tuple[int | None, str]] = []
        #: YAML values copied so far (anchors can expand without bound).
        self.nodes_copied = 0

    def error(self, detail: str, *, line: int | None = None, hint: str = "") -> DefinitionError:
        return DefinitionError(detail, path=self.path, line=line, hint=hint)

    def warn(self, message: str, line: int | None = None) -> None:
        self.warnings.append((line, message))


def yaml_kind(value: object) -> str:
    """How a YAML value is named in messages (list, string, int ...)."""
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    return type(value).__name__
