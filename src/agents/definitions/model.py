"""The parsed agent definition and where it came from."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from agents.contracts import InputContract, OutputContract, check_input, check_output
from agents.types import ContractResult

#: Frontmatter keys mapped onto typed fields; every other key lands in ``extra``.
KNOWN_FIELDS = frozenset(
    {
        "name",
        "description",
        "model",
        "version",
        "tools",
        "color",
        "last_updated",
        "output_schema",
        "input_schema",
        "approval",
    }
)


class DefinitionSource(BaseModel):
    """Where a definition came from (S3 object or local file)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bucket: str | None = None
    key: str | None = None
    etag: str | None = None
    version_id: str | None = None
    path: str | None = None


def split_tools(value: Any) -> Any:
    """``tools`` as a list of names (from a list or a comma-separated string)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [t.strip() for t in value.split(",") if t.strip()]
    if isinstance(value, list | tuple):
        out: list[str] = []
        for item in value:
            if isinstance(item, dict | list | tuple):
                raise ValueError("tools must be a list of tool names or a comma-separated string")
            text = str(item).strip()
            if text:
                out.append(text)
        return out
    raise ValueError("tools must be a list of tool names or a comma-separated string")


class AgentDefinition(BaseModel):
    """A parsed agent definition. ``name`` is its identity and its S3 key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str = ""
    model: str | None = None
    version: str | None = None
    tools: list[str] = Field(default_factory=list)
    #: Tools whose calls wait for a person's decision (``all-writes``: every writing tool).
    approval: list[str] = Field(default_factory=list)
    color: str | None = None
    last_updated: dt.date | None = None
    output_contract: OutputContract | None = None
    input_contract: InputContract | None = None
    #: The Markdown after the frontmatter: the system prompt.
    body: str = ""
    source: DefinitionSource | None = None
    #: Every other frontmatter field, JSON-safe (dates as ISO strings).
    extra: dict[str, Any] = Field(default_factory=dict)
    #: Non-fatal findings (lenient YAML, odd fields); lint prints them.
    warnings: list[str] = Field(default_factory=list)

    _warning_lines: list[int | None] = PrivateAttr(default_factory=list)
    _key_lines: dict[str, int] = PrivateAttr(default_factory=dict)

    _tools = field_validator("tools", mode="before")(split_tools)

    def with_lines(
        self, warning_lines: list[int | None], key_lines: dict[str, int]
    ) -> AgentDefinition:
        """Attach the file lines of the warnings and of the top-level keys (parser use)."""
        self._warning_lines = list(warning_lines)
        self._key_lines = dict(key_lines)
        return self

    # --- convenience ---------------------------------------------------------

    @property
    def etag_or_version(self) -> str | None:
        """The most precise revision marker known: S3 version id, else ETag,
        else the frontmatter ``version`` (what an invocation record keeps)."""
        if self.source is not None:
            if self.source.version_id and self.source.version_id != "null":
                return self.source.version_id
            if self.source.etag:
                return self.source.etag
        return self.version

    @property
    def etag(self) -> str | None:
        return self.source.etag if self.source is not None else None

    def warning_items(self) -> list[tuple[int | None, str]]:
        """``(line, message)`` per warning (line 1-based, None when unknown)."""
        lines = self._warning_lines + [None] * (len(self.warnings) - len(self._warning_lines))
        return list(zip(lines, self.warnings, strict=False))

    def line_of(self, field: str) -> int | None:
        """1-based line of a top-level frontmatter field (None when unknown)."""
        return self._key_lines.get(field)

    def check_output(
        self, text: str, prompt: str = "", invocation_context: str | None = None
    ) -> ContractResult:
        return check_output(self.output_contract, text, prompt, invocation_context)

    def check_input(self, context: Any) -> list[dict[str, str]]:
        return check_input(self.input_contract, context)

    def summary(self) -> dict[str, Any]:
        """Caller-safe metadata for ``GET /agents`` (no bucket, key or path)."""
        return {
            "name": self.name,
            "description": self.description,
            "model": self.model,
            "version": self.version,
            "tools": list(self.tools),
            "color": self.color,
            "last_updated": self.last_updated.isoformat() if self.last_updated else None,
            "etag": self.etag,
            "output_contract": (
                self.output_contract.model_dump(mode="json") if self.output_contract else None
            ),
            "input_contract": (
                self.input_contract.model_dump(mode="json") if self.input_contract else None
            ),
        }
