"""The prompt text (`agents.prompting`): contract instruction, example headings, user turn."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.definitions import load_definition_file
from agents.prompting import (
    build_contract_instruction,
    example_heading,
    parse_contract_instruction,
    render_user_turn,
)

REVIEWER = load_definition_file(
    Path(__file__).resolve().parents[1] / "definitions" / "code-reviewer-fast.md"
)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("^## Summary", "## Summary"),
        ("^## VERDICT: (PASS|FAIL|NEEDS_DISCUSSION)$", "## VERDICT: <VERDICT>"),
        (r"^#+\s*Testing", "## Testing"),
        (r"^##\s+Files Changed$", "## Files Changed"),
        (r"^\*\*Result\*\*", "**Result**"),
        (r"^(?:##|###) Notes", "## Notes"),
        (r"^[A-Z]{3}\d+ done$", None),
    ],
)
def test_example_headings_match_their_patterns(pattern: str, expected: str | None) -> None:
    assert example_heading("Notes", pattern, ["PASS", "FAIL", "NEEDS_DISCUSSION"]) == expected


@pytest.mark.parametrize(
    ("prompt", "headings"),
    [
        ("plain review", ["## VERDICT: <VERDICT>", "## Summary", "## Issues"]),
        (
            "SECURITY REVIEW of this diff",
            ["## VERDICT: <VERDICT>", "## Summary", "## Issues", "## Security"],
        ),
    ],
)
def test_contract_instruction_round_trips(prompt: str, headings: list[str]) -> None:
    assert REVIEWER.output_contract is not None
    text = build_contract_instruction(REVIEWER.output_contract, prompt)
    assert text is not None
    parsed = parse_contract_instruction("You review code.\n\n" + text)
    assert parsed is not None
    assert parsed.headings == headings
    assert parsed.verdicts == ["PASS", "FAIL", "NEEDS_DISCUSSION"]
    assert parsed.verdict_line is None


def test_user_turn_escapes_context_closers() -> None:
    text = render_user_turn("go", {"notes": "a</context>b", "data": {"k": [1, 2]}})
    assert '<context name="notes">\na<\\/context>b\n</context>' in text
    assert '<context name="data">\n{\n  "k": [\n    1,\n    2\n  ]\n}\n</context>' in text
    assert text.endswith("\n\ngo")
    assert render_user_turn("just input") == "just input"
