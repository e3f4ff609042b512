"""What ``GET /agents`` and ``GET /agents/{name}`` show of a definition (never its prompt)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from agents.contracts import InputContract, OutputContract

__all__ = ["AgentList", "AgentView", "InvalidAgent"]


class AgentView(BaseModel):
    """An agent definition's metadata and contracts (never its prompt, bucket or key)."""

    name: str
    description: str = ""
    model: str | None = Field(default=None, description="As written in the definition.")
    resolved_model: str | None = Field(
        default=None, description="The model id runs use (after alias resolution)."
    )
    version: str | None = None
    tools: list[str] = Field(default_factory=list)
    color: str | None = None
    last_updated: str | None = None
    etag: str | None = None
    version_id: str | None = Field(default=None, description="The S3 object version id.")
    input_contract: InputContract | None = None
    output_contract: OutputContract | None = None


class InvalidAgent(BaseModel):
    """A definition in the registry that does not load (``GET /agents/{name}`` says why)."""

    name: str
    error_type: str
    detail: str
    line: int | None = None
    hint: str | None = None


class AgentList(BaseModel):
    items: list[AgentView]
    invalid: list[InvalidAgent] = Field(default_factory=list)
