"""The agent catalog: list the registry's definitions and read one (metadata and
contracts, never a prompt)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agents.agent_views import AgentList, AgentView, InvalidAgent
from agents.problems import Failure
from agents.service.core import ServiceCore, pinned_version_id

if TYPE_CHECKING:
    from agents.definitions import AgentDefinition

__all__ = ["AgentCatalog"]


class AgentCatalog(ServiceCore):
    """``GET /agents`` and ``GET /agents/{name}``."""

    def list_agents(self) -> AgentList:
        definitions, errors = self.registry.scan()
        invalid = []
        for error in errors:
            path = str(error.extra.get("path", ""))
            name = path.rsplit("/", 1)[-1].removesuffix(".md") or "?"
            failure = Failure.from_exception(error)
            line = error.extra.get("line")
            hint = error.extra.get("hint")
            invalid.append(
                InvalidAgent(
                    name=name,
                    error_type=failure.error_type,
                    detail=error.detail if failure.status < 500 else failure.detail,
                    line=line if isinstance(line, int) else None,
                    hint=hint if isinstance(hint, str) else None,
                )
            )
        return AgentList(items=[self._agent_view(d) for d in definitions], invalid=invalid)

    def get_agent(self, name: str) -> AgentView:
        return self._agent_view(self._load(name, None))

    def _agent_view(self, definition: AgentDefinition) -> AgentView:
        from agents.errors import UnknownModel
        from agents.model_aliases import resolve_model

        try:
            resolved: str | None = resolve_model(definition.model, self.settings)
        except UnknownModel:
            resolved = None
        source = definition.source
        return AgentView(
            name=definition.name,
            description=definition.description,
            model=definition.model,
            resolved_model=resolved,
            version=definition.version,
            tools=list(definition.tools),
            color=definition.color,
            last_updated=definition.last_updated.isoformat() if definition.last_updated else None,
            etag=definition.etag,
            version_id=pinned_version_id(definition) if source else None,
            input_contract=definition.input_contract,
            output_contract=definition.output_contract,
        )
