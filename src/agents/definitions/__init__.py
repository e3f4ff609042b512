"""Agent definitions: Markdown with YAML frontmatter -> :class:`AgentDefinition`.

Strict YAML first, one lenient fallback, line-accurate :class:`DefinitionError`
otherwise; see docs/definitions.md ("Parsing").
"""

from __future__ import annotations

from agents.definitions.model import KNOWN_FIELDS, AgentDefinition, DefinitionSource
from agents.definitions.parser import (
    MAX_DEFINITION_BYTES,
    load_definition_file,
    parse_definition,
)

__all__ = [
    "KNOWN_FIELDS",
    "MAX_DEFINITION_BYTES",
    "AgentDefinition",
    "DefinitionSource",
    "load_definition_file",
    "parse_definition",
]
