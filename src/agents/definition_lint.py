"""Lint agent definition files (``agw agents lint``, and before every push).

Findings are ``path:line: error|warning: message``. Errors: the file does not
parse (bad YAML, lost line breaks, missing name, bad regex in a contract...).
Warnings: the lenient YAML fallback was needed, a ``required_when`` condition
is not understood (the section is then optional), the model alias does not
resolve, the file name differs from the agent name, an empty description or
body, two files with the same agent name (an error for push), a ``tools`` entry
that a run will not offer in this configuration (docs/tools.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from agents.config import ConfigError, Settings
from agents.definitions import (
    MAX_DEFINITION_BYTES,
    AgentDefinition,
    DefinitionSource,
    parse_definition,
)
from agents.errors import DefinitionError, UnknownModel
from agents.model_aliases import resolve_model

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    path: str
    line: int | None
    severity: Severity
    message: str
    hint: str = ""

    def format(self) -> str:
        text = f"{self.path}:{self.line or 1}: {self.severity}: {self.message}"
        return f"{text} (fix: {self.hint})" if self.hint else text

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint or None,
        }


@dataclass
class LintedFile:
    path: str
    data: bytes = b""
    definition: AgentDefinition | None = None
    resolved_model: str | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        d = self.definition
        return {
            "path": self.path,
            "ok": self.ok,
            "name": d.name if d else None,
            "version": d.version if d else None,
            "model": d.model if d else None,
            "resolved_model": self.resolved_model,
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass
class LintReport:
    files: list[LintedFile] = field(default_factory=list)
    #: Findings not tied to one definition (missing paths, configuration).
    general: list[Finding] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        out = list(self.general)
        for item in self.files:
            out.extend(item.findings)
        return out

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == "warning")

    @property
    def ok(self) -> bool:
        return self.errors == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "errors": self.errors,
            "warnings": self.warnings,
            "files": [f.to_dict() for f in self.files],
            "findings": [f.to_dict() for f in self.findings],
        }


def collect_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[Finding]]:
    """Expand folders to their ``*.md`` files (recursive, sorted); keep explicit files."""
    files: list[Path] = []
    problems: list[Finding] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.md") if p.is_file())
            if not found:
                problems.append(Finding(str(path), None, "warning", "no *.md files in the folder"))
        elif path.is_file():
            found = [path]
        else:
            problems.append(Finding(str(path), None, "error", "no such file or folder"))
            continue
        for item in found:
            resolved = item.resolve()
            if resolved not in seen:
                seen.add(resolved)
                files.append(item)
    return files, problems


def _settings() -> tuple[Settings, list[Finding]]:
    try:
        return Settings.from_env(), []
    except ConfigError as exc:
        return Settings(), [Finding("<environment>", None, "warning", str(exc))]


def _file_stem(path: Path) -> str:
    name = path.name
    if name.endswith(".md"):
        return name.removesuffix(".md")
    return name[: name.index(".md")] if ".md" in name else path.stem


def lint_file(path: Path, settings: Settings) -> LintedFile:
    shown = str(path)
    item = LintedFile(path=shown)
    try:
        size = path.stat().st_size
        if size > MAX_DEFINITION_BYTES:
            raise DefinitionError(
                f"the definition is {size} bytes; the limit is {MAX_DEFINITION_BYTES} bytes",
                path=shown,
            )
        item.data = path.read_bytes()
        definition = parse_definition(item.data, path=shown, source=DefinitionSource(path=shown))
    except OSError as exc:
        item.findings.append(Finding(shown, None, "error", f"cannot read: {exc.strerror or exc}"))
        return item
    except DefinitionError as exc:
        item.findings.append(Finding(shown, exc.line, "error", exc.detail, exc.hint))
        return item
    item.definition = definition
    for line, message in definition.warning_items():
        item.findings.append(Finding(shown, line, "warning", message))
    try:
        item.resolved_model = resolve_model(definition.model, settings)
    except UnknownModel as exc:
        item.findings.append(
            Finding(
                shown,
                definition.line_of("model"),
                "warning",
                f"model: {exc.detail}",
                "set MODEL_ALIASES to map it, or use a known alias; it fails at run time",
            )
        )
    # Imported here: the tools package builds the Powertools logger, which must not bind
    # to stdout before `agw dev` points stdout at stderr (the CLI imports this module).
    from agents.tools.plan import tool_choices

    for choice in tool_choices(definition, settings, has_files=True):
        if choice.reason is not None:
            item.findings.append(
                Finding(
                    shown,
                    definition.line_of("tools"),
                    "warning",
                    f"tools: {choice.name} will not be offered: {choice.reason}",
                    "runs list it under tools_unavailable; see docs/tools.md",
                )
            )
    from agents.approvals import unknown_approval_names

    for name in unknown_approval_names(definition.approval):
        item.findings.append(
            Finding(
                shown,
                definition.line_of("approval"),
                "warning",
                f"approval: {name} is not a client tool; its calls cannot wait for approval",
                "name client tools (Write, Edit, ...) or all-writes; see docs/tools.md",
            )
        )
    stem = _file_stem(path)
    if stem not in (definition.name, definition.name.replace(":", "-")):
        item.findings.append(
            Finding(
                shown,
                definition.line_of("name"),
                "warning",
                f"the file name {path.name!r} differs from the agent name "
                f"{definition.name!r}; push stores it as {definition.name}.md",
            )
        )
    return item


def lint_paths(
    paths: Sequence[str | Path],
    settings: Settings | None = None,
    *,
    duplicates: Severity = "warning",
) -> LintReport:
    """Lint every definition under ``paths`` (files or folders).

    Two files with the same agent name are a warning for lint (collections
    such as ``../shared/corpus`` legitimately hold look-alikes) and an error
    for push (``duplicates="error"``): both would land on the same S3 key.
    """
    report = LintReport()
    if settings is None:
        settings, problems = _settings()
        report.general.extend(problems)
    files, problems = collect_files(paths)
    report.general.extend(problems)
    first_seen: dict[str, LintedFile] = {}
    for path in files:
        item = lint_file(path, settings)
        report.files.append(item)
        definition = item.definition
        if definition is None:
            continue
        earlier = first_seen.get(definition.name)
        if earlier is None:
            first_seen[definition.name] = item
            continue
        assert earlier.definition is not None
        item.findings.append(
            Finding(
                item.path,
                definition.line_of("name"),
                duplicates,
                f"duplicate agent name {definition.name!r} (also in "
                f"{earlier.path}:{earlier.definition.line_of('name') or 1})",
                "give each agent a unique name: the name is its S3 key (push refuses duplicates)",
            )
        )
    return report
