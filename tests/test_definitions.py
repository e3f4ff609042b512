"""Parsing agent definitions: every fixture's outcome, error messages, serialisation."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from agents.definitions import (
    MAX_DEFINITION_BYTES,
    AgentDefinition,
    DefinitionSource,
    load_definition_file,
    parse_definition,
)
from agents.errors import DefinitionError
from tests.plugins.agents import DEFINITIONS_DIR, FIXTURE_DEFINITIONS

# file -> (name, number of warnings); None: a DefinitionError whose message contains the text.
EXPECTED: dict[str, tuple[str, int] | str] = {
    "backend-engineer-python.md": ("backend-engineer-python", 0),
    "powershell-5.1-expert.md": ("powershell-5.1-expert", 0),
    "ring-devops-engineer.md": ("ring:devops-engineer", 1),
    "ring-backend-engineer-golang.md": ("ring:backend-engineer-golang", 0),
    "ring-code-reviewer.md": ("ring:code-reviewer", 0),
    "voltagent-gdpr-ccpa-compliance.md": ("gdpr-ccpa-compliance", 1),
    "voltagent-python-pro.md": ("python-pro", 0),
    "wshobson-python-pro.md": ("python-pro", 0),
    "wshobson-team-lead.md": ("team-lead", 0),
    "seed-flattened.md.txt": "line breaks are missing",
}


def test_every_fixture_has_an_expectation() -> None:
    assert sorted(p.name for p in FIXTURE_DEFINITIONS.iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("filename", sorted(EXPECTED))
def test_fixture_outcome(filename: str) -> None:
    expected = EXPECTED[filename]
    path = FIXTURE_DEFINITIONS / filename
    if isinstance(expected, str):
        with pytest.raises(DefinitionError) as info:
            load_definition_file(path)
        assert expected in info.value.detail
        assert info.value.path == str(path)
        assert info.value.line == 1
        assert info.value.hint
        assert info.value.status == 422
        return
    name, warnings = expected
    definition = load_definition_file(path)
    assert definition.name == name
    assert len(definition.warnings) == warnings, definition.warnings
    assert definition.body.strip()
    assert definition.source == DefinitionSource(path=str(path))
    json.dumps(definition.model_dump(mode="json"))  # JSON-safe throughout


def test_flagship_fields() -> None:
    d = load_definition_file(FIXTURE_DEFINITIONS / "backend-engineer-python.md")
    assert d.model == "opus"
    assert d.version == "1.0.0"
    assert d.last_updated == dt.date(2025, 1, 26)
    assert d.extra["type"] == "specialist"
    assert d.extra["changelog"] == [{"1.0.0": "Initial release - Python backend specialist"}]
    assert d.output_contract is not None
    assert [s.name for s in d.output_contract.required_sections] == [
        "Summary",
        "Implementation",
        "Files Changed",
        "Testing",
        "Next Steps",
    ]
    assert d.input_contract is None
    assert d.body.startswith("# Backend Engineer Python")
    assert d.model_dump(mode="json")["last_updated"] == "2025-01-26"


def test_ring_golang_contracts_and_extras() -> None:
    d = load_definition_file(FIXTURE_DEFINITIONS / "ring-backend-engineer-golang.md")
    assert d.input_contract is not None
    assert [f.name for f in d.input_contract.required_context] == [
        "task_description",
        "requirements",
    ]
    assert d.output_contract is not None
    dumped = d.output_contract.model_dump(mode="json")
    assert dumped["error_handling"] == {
        "on_blocker": "pause_and_report",
        "escalation_path": "orchestrator",
    }
    assert len(dumped["metrics"]) == 5
    compliance = d.output_contract.required_sections[7]
    assert compliance.required_when is not None
    assert compliance.required_when.prompt_contains == "**MODE: ANALYSIS only**"


def test_ring_reviewer_has_verdicts_and_no_model() -> None:
    d = load_definition_file(FIXTURE_DEFINITIONS / "ring-code-reviewer.md")
    assert d.model is None
    assert d.output_contract is not None
    assert d.output_contract.verdict_values == ["PASS", "FAIL", "NEEDS_DISCUSSION"]


def test_voltagent_lenient_fallback() -> None:
    path = FIXTURE_DEFINITIONS / "voltagent-gdpr-ccpa-compliance.md"
    d = load_definition_file(path)
    assert "Triggers on: 'GDPR', 'CCPA'" in d.description
    assert d.description.endswith("'California privacy'.")
    assert d.tools == ["Read", "Grep", "Glob", "WebFetch", "WebSearch"]
    (line, message), *_ = d.warning_items()
    assert line == 3
    assert "description" in message
    assert "unquoted ': '" in message


def test_tools_as_list_and_string() -> None:
    as_list = parse_definition("---\nname: a\ndescription: d\ntools:\n  - Read\n  - Bash\n---\nb")
    as_text = parse_definition("---\nname: a\ndescription: d\ntools: Read, Bash,\n---\nb")
    assert as_list.tools == as_text.tools == ["Read", "Bash"]


def test_team_lead_keeps_color_and_unknown_model() -> None:
    d = load_definition_file(FIXTURE_DEFINITIONS / "wshobson-team-lead.md")
    assert d.model == "fable"
    assert d.color == "blue"


def test_shipped_definitions_parse_without_warnings() -> None:
    files = sorted(DEFINITIONS_DIR.glob("*.md"))
    assert len(files) >= 2
    for path in files:
        d = load_definition_file(path)
        assert d.warnings == [], (path, d.warnings)
        assert path.name == f"{d.name}.md"


def _err(text: str | bytes) -> DefinitionError:
    with pytest.raises(DefinitionError) as info:
        parse_definition(text, path="x.md")
    return info.value


def test_missing_name() -> None:
    error = _err("---\ndescription: no name\nmodel: haiku\n---\nbody")
    assert "no 'name'" in error.detail
    assert error.hint
    assert error.path == "x.md"


def test_invalid_name_has_line() -> None:
    error = _err("---\ndescription: d\nname: ../etc/passwd\n---\nbody")
    assert error.line == 3
    assert "invalid agent name" in error.detail


def test_name_must_be_text() -> None:
    assert "must be a string" in _err("---\nname: [a, b]\n---\nbody").detail


def test_yaml_error_reports_file_line_and_hint() -> None:
    text = "---\nname: a\ndescription: d\nmodel: [unclosed\ncolor: red\n---\nbody"
    error = _err(text)
    assert error.line is not None
    assert error.line >= 4
    assert "invalid YAML" in error.detail
    assert error.hint
    assert str(error).startswith(f"x.md:{error.line}: ")


def test_tab_indentation_hint() -> None:
    error = _err("---\nname: a\noutput_schema:\n\tformat: x\n---\nbody")
    assert "tab" in error.hint


def test_multiline_colon_value_is_not_rescued() -> None:
    # The fallback is only for one-line values; anything else stays an error.
    text = "---\nname: a\ndescription: first: line\n  second: line\n---\nbody"
    assert "invalid YAML" in _err(text).detail


def test_bad_regex_names_section_and_line() -> None:
    text = (
        "---\nname: a\ndescription: d\noutput_schema:\n  required_sections:\n"
        '    - name: "Summary"\n      pattern: "^## Summary"\n'
        '    - name: "Broken"\n      pattern: "^## (Broken"\n---\nbody'
    )
    error = _err(text)
    assert "'Broken'" in error.detail
    assert "regex" in error.detail
    assert error.line == 9
    assert "regular expression" in error.hint


def test_schema_must_be_mapping() -> None:
    error = _err("---\nname: a\noutput_schema: [1, 2]\n---\nbody")
    assert "must be a mapping" in error.detail
    assert error.line == 3


def test_section_without_pattern() -> None:
    error = _err("---\nname: a\noutput_schema:\n  required_sections:\n    - name: S\n---\nb")
    assert "pattern" in error.detail


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("   \n\n", "empty"),
        ("# Just markdown\n", "no YAML frontmatter"),
        ("---\nname: a\n", "not closed"),
        ("---\n---\nbody", "frontmatter is empty"),
        ("---\n- a\n- b\n---\nbody", "mapping"),
        ("---\njust a string\n---\nbody", "mapping"),
        ("--- name: a description: b --- body", "line breaks are missing"),
        ("---\nname: a\nlast: 2025-13-45\n---\nb", "invalid value"),
    ],
)
def test_clear_errors(text: str, fragment: str) -> None:
    assert fragment in _err(text).detail


def test_flattened_with_crlf_pieces_still_detected() -> None:
    text = (FIXTURE_DEFINITIONS / "seed-flattened.md.txt").read_text()
    error = _err(text)
    assert "line breaks are missing" in error.detail
    assert "whole file is on one line" in error.detail


def test_closing_boundary_is_three_or_more_dashes() -> None:
    d = parse_definition("---\nname: a\ndescription: d\n-----  \n\nbody\n---\nmore")
    assert (d.name, d.body) == ("a", "body\n---\nmore")
    with pytest.raises(DefinitionError, match="not closed"):
        parse_definition("---\nname: a\n-- \nbody")


def test_line_endings_crlf_and_bom() -> None:
    text = "\ufeff---\r\nname: a\r\ndescription: d\r\n---\r\n# Body\r\n"
    d = parse_definition(text.encode("utf-8"))
    assert d.name == "a"
    assert d.body == "# Body"


def test_not_utf8() -> None:
    error = _err(b"---\nname: a\ndescription: \xff\xfe\n---\nbody")
    assert "UTF-8" in error.detail
    assert error.line == 3


def test_size_limit() -> None:
    big = "---\nname: a\ndescription: d\n---\n" + "x" * MAX_DEFINITION_BYTES
    assert "limit" in _err(big).detail
    assert "limit" in _err(big.encode()).detail


def test_size_limit_for_files(tmp_path: Path) -> None:
    path = tmp_path / "big.md"
    path.write_bytes(b"---\nname: big\n---\n" + b"x" * MAX_DEFINITION_BYTES)
    with pytest.raises(DefinitionError, match="limit"):
        load_definition_file(path)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="cannot read"):
        load_definition_file(tmp_path / "missing.md")


def test_recursive_anchor_is_an_error() -> None:
    assert "nested too deeply" in _err("---\nname: a\nloop: &a [*a]\n---\nbody").detail


def test_billion_laughs_is_bounded() -> None:
    lines = ["---", "name: a", "l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        refs = ", ".join([f"*l{i - 1}"] * 10)
        lines.append(f"l{i}: &l{i} [{refs}]")
    lines += ["---", "body"]
    assert "too large" in _err("\n".join(lines)).detail


def test_extra_fields_are_json_and_dynamodb_safe() -> None:
    text = (
        "---\nname: a\ndescription: d\nversion: 1.5\nlast_updated: 2025-02-03 10:00:00\n"
        "released: 2024-12-31\nscore: 0.5\nbig: 123456789012345678901234567890123456789012\n"
        "inf: .inf\nblob: !!binary aGVsbG8=\nnested:\n  when: 2024-01-01\n  2024-02-02: x\n"
        "  1: one\n  null: none\nflags: !!set {a, b}\n---\nbody"
    )
    d = parse_definition(text)
    assert d.version == "1.5"
    assert d.last_updated == dt.date(2025, 2, 3)
    assert d.extra == {
        "released": "2024-12-31",
        "score": 0.5,
        "big": "123456789012345678901234567890123456789012",
        "inf": "inf",
        "blob": "aGVsbG8=",
        "nested": {"when": "2024-01-01", "2024-02-02": "x", "1": "one", "null": "none"},
        "flags": ["a", "b"],
    }
    json.dumps(d.model_dump(mode="json"), allow_nan=False)


def test_bad_last_updated_is_a_warning() -> None:
    d = parse_definition("---\nname: a\ndescription: d\nlast_updated: January 2025\n---\nb")
    assert d.last_updated is None
    assert d.extra["last_updated"] == "January 2025"
    assert any("last_updated" in w for w in d.warnings)


def test_missing_description_and_body_are_warnings() -> None:
    d = parse_definition("---\nname: a\n---\n")
    assert d.description == ""
    assert len(d.warnings) == 2


def test_summary_is_caller_safe() -> None:
    source = DefinitionSource(
        bucket="secret-bucket", key="agents/a.md", etag="abc", version_id="v1", path="/tmp/a"
    )
    d = parse_definition(
        (DEFINITIONS_DIR / "code-reviewer-fast.md").read_bytes(), path="p", source=source
    )
    summary = d.summary()
    assert set(summary) == {
        "name",
        "description",
        "model",
        "version",
        "tools",
        "color",
        "last_updated",
        "etag",
        "output_contract",
        "input_contract",
    }
    text = json.dumps(summary)
    assert "secret-bucket" not in text
    assert "agents/a.md" not in text
    assert "/tmp/a" not in text
    assert summary["input_contract"]["required_context"][0]["name"] == "language"
    assert d.etag_or_version == "v1"


def test_etag_or_version_fallbacks() -> None:
    text = "---\nname: a\ndescription: d\nversion: 2.0.0\n---\nb"
    assert parse_definition(text).etag_or_version == "2.0.0"
    with_etag = parse_definition(text, source=DefinitionSource(etag="e1", version_id="null"))
    assert with_etag.etag_or_version == "e1"


def test_definitions_are_frozen() -> None:
    d = parse_definition("---\nname: a\ndescription: d\n---\nb")
    with pytest.raises(ValueError, match="frozen"):
        d.name = "b"  # type: ignore[misc]
    assert isinstance(d, AgentDefinition)


def test_dotted_name_loads() -> None:
    d = load_definition_file(FIXTURE_DEFINITIONS / "powershell-5.1-expert.md")
    assert d.name == "powershell-5.1-expert"
    assert d.warnings == []


def test_ring_devops_engineer_has_both_required_when_shapes() -> None:
    d = load_definition_file(FIXTURE_DEFINITIONS / "ring-devops-engineer.md")
    contract = d.output_contract
    assert contract is not None
    by_name = {s.name: s for s in contract.required_sections}
    compliance = by_name["Standards Compliance"].required_when
    assert compliance is not None
    assert compliance.understood
    assert compliance.invocation_context == "ring:dev-refactor"
    assert compliance.prompt_contains == "MODE: ANALYSIS only"
    rollback = by_name["Rollback Plan"].required_when
    assert rollback is not None
    assert rollback.invocation_context == "ring:dev-cycle"
    assert rollback.prompt_contains is None
    analysis = "Refactor plan. **MODE: ANALYSIS only**"
    required = [s.name for s in contract.sections_for(analysis, "ring:dev-refactor")]
    assert "Standards Compliance" in required
    assert "Rollback Plan" not in required
    assert "Cost Impact" not in required
    assert "Standards Compliance" not in [s.name for s in contract.sections_for(analysis)]
    assert "Rollback Plan" in [s.name for s in contract.sections_for("", "ring:dev-cycle")]
    # Not understood: optional, and one warning at the condition's line.
    assert not by_name["Cost Impact"].is_required_for("COST REVIEW", "production")
    ((line, message),) = d.warning_items()
    assert line == 44
    assert "'Cost Impact'" in message
    assert "treated as optional" in message
