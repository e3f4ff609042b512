"""Output and input contracts (ring-style output_schema / input_schema)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from agents.contracts import (
    InputContract,
    OutputContract,
    RequiredSection,
    RequiredWhen,
    check_input,
    check_output,
    find_verdict,
)
from agents.definitions import load_definition_file
from agents.types import ContractResult

REVIEWER: dict[str, Any] = {
    "format": "markdown",
    "required_sections": [
        {"name": "VERDICT", "pattern": "^## VERDICT: (PASS|FAIL|NEEDS_DISCUSSION)$"},
        {"name": "Summary", "pattern": "^## Summary", "required": True},
        {"name": "Issues", "pattern": "^## Issues$", "required": True},
        {"name": "Blockers", "pattern": "^## Blockers", "required": False},
        {
            "name": "Standards Compliance",
            "pattern": "^## Standards Compliance",
            "required": False,
            "required_when": {
                "invocation_context": "ring:dev-refactor",
                "prompt_contains": "**MODE: ANALYSIS only**",
            },
        },
    ],
    "verdict_values": ["PASS", "FAIL", "NEEDS_DISCUSSION"],
    "metrics": [{"name": "files_changed", "type": "integer"}],
}

GOOD = "## VERDICT: PASS\n\n## Summary\nFine.\n\n## Issues\nNone.\n"


@pytest.fixture
def contract() -> OutputContract:
    return OutputContract.model_validate(REVIEWER)


def test_all_present(contract: OutputContract) -> None:
    result = contract.check(GOOD, "review this")
    assert result == ContractResult(valid=True, missing=[], verdict="PASS")


def test_missing_required_section(contract: OutputContract) -> None:
    result = contract.check("## VERDICT: FAIL\n## Summary\nbad\n", "")
    assert not result.valid
    assert result.missing == ["Issues"]
    assert result.verdict == "FAIL"


def test_optional_section_absent_is_fine(contract: OutputContract) -> None:
    assert "Blockers" not in contract.check(GOOD, "").missing
    assert contract.check(GOOD + "## Blockers\nnone\n", "").valid


def test_required_when_needs_every_condition(contract: OutputContract) -> None:
    prompt = "Please **MODE: ANALYSIS only** on this repo"
    context = "ring:dev-refactor"
    names = [s.name for s in contract.sections_for(prompt, context)]
    assert "Standards Compliance" in names
    assert "Standards Compliance" not in [s.name for s in contract.sections_for("plain", context)]
    # One condition of two is not enough.
    assert "Standards Compliance" not in [s.name for s in contract.sections_for(prompt)]
    assert "Standards Compliance" not in [s.name for s in contract.sections_for(prompt, "other")]
    assert contract.check(GOOD, prompt).valid
    result = contract.check(GOOD, prompt, context)
    assert not result.valid
    assert result.missing == ["Standards Compliance"]
    assert contract.check(GOOD + "## Standards Compliance\nok\n", prompt, context).valid
    # Substring match is case-sensitive and exact.
    assert contract.check(GOOD, "mode: analysis only", context).valid


def _section(required_when: Any) -> dict[str, Any]:
    return {
        "name": "Standards Compliance",
        "pattern": "^## Standards Compliance",
        "required": False,
        "required_when": required_when,
    }


def _when(required_when: Any) -> RequiredWhen:
    contract = OutputContract.model_validate({"required_sections": [_section(required_when)]})
    rule = contract.required_sections[0].required_when
    assert rule is not None
    return rule


def test_required_when_string_form_is_the_same_as_the_mapping() -> None:
    text = "invocation_context == 'ring:dev-refactor' and prompt_contains == 'MODE: ANALYSIS only'"
    rule = _when(text)
    assert rule.understood
    assert rule.unparsed == []
    assert rule.invocation_context == "ring:dev-refactor"
    assert rule.prompt_contains == "MODE: ANALYSIS only"
    assert rule.expression == text
    assert rule.applies_to("x **MODE: ANALYSIS only** y", "ring:dev-refactor")
    assert not rule.applies_to("x **MODE: ANALYSIS only** y", None)
    assert not rule.applies_to("plain", "ring:dev-refactor")
    mapping = _when(
        {"invocation_context": "ring:dev-refactor", "prompt_contains": "MODE: ANALYSIS only"}
    )
    for prompt, context in [("MODE: ANALYSIS only", "ring:dev-refactor"), ("x", None), ("x", "y")]:
        assert rule.applies_to(prompt, context) == mapping.applies_to(prompt, context)


@pytest.mark.parametrize(
    ("text", "context", "prompt"),
    [
        ("invocation_context == 'ring:dev-refactor'", "ring:dev-refactor", ""),
        ('prompt_contains == "a and b"', None, "x a and b y"),
        ("  prompt_contains=='M'  AND  invocation_context == \"c\" ", "c", "M"),
        ("prompt_contains == 'it''s'", None, "never"),
    ],
)
def test_string_forms_that_parse(text: str, context: str | None, prompt: str) -> None:
    rule = _when(text)
    if "it''s" in text:  # two quoted strings side by side: not understood
        assert not rule.understood
        return
    assert rule.understood, rule.unparsed
    assert rule.applies_to(prompt, context)


@pytest.mark.parametrize(
    "required_when",
    [
        "invocation_context == 'a' or prompt_contains == 'b'",
        "invocation_context != 'a'",
        "prompt_contains == 'a' and",
        "file_pattern == '*.go'",
        "prompt_contains == 'a' and prompt_contains == 'b'",
        "prompt_contains in ['a', 'b']",
        "",
        "   ",
        "prompt_contains == unquoted",
        {"file_pattern": "*.go"},
        {"prompt_contains": ["a", "b"]},
        {"prompt_contains": {"nested": 1}, "invocation_context": "x"},
        {},
        {"prompt_contains": None},
        ["prompt_contains", "a"],
        7,
    ],
)
def test_conditions_not_understood_make_the_section_optional(required_when: Any) -> None:
    contract = OutputContract.model_validate(
        {"required_sections": [_section(required_when), {"name": "S", "pattern": "^S"}]}
    )
    rule = contract.required_sections[0].required_when
    assert rule is not None
    assert not rule.understood
    assert not contract.required_sections[0].is_required_for("a b *.go x", "a")
    ((index, message),) = contract.warnings()
    assert index == 0
    assert "Standards Compliance" in message
    assert "treated as optional" in message
    assert contract.check("S\n", "a b", "a").valid
    assert "(optional)" in contract.describe()
    OutputContract.model_validate(contract.model_dump(mode="json"))  # round trip


def test_parsed_conditions_round_trip_through_json() -> None:
    text = "invocation_context == 'ring:dev-refactor' and nope == 'x'"
    contract = OutputContract.model_validate({"required_sections": [_section(text)]})
    again = OutputContract.model_validate(contract.model_dump(mode="json"))
    assert again == contract
    assert again.required_sections[0].required_when is not None
    assert again.required_sections[0].required_when.unparsed == [
        "nope == 'x' (unknown condition 'nope')"
    ]


def test_describe_states_every_condition() -> None:
    contract = OutputContract.model_validate(
        {"required_sections": [_section("invocation_context == 'c' and prompt_contains == 'M'")]}
    )
    described = contract.describe()
    assert "the request contains 'M'" in described
    assert "the invocation context is 'c'" in described


def test_anchored_patterns_match_lines_inside_long_text(contract: OutputContract) -> None:
    filler = "\n".join(f"line {i}: some prose about ## Summary inline" for i in range(2000))
    text = f"{filler}\n## VERDICT: NEEDS_DISCUSSION\n{filler}\n## Summary\n{filler}\n## Issues\n"
    result = contract.check(text, "")
    assert result.valid, result
    assert result.verdict == "NEEDS_DISCUSSION"


def test_anchors_do_not_match_mid_line(contract: OutputContract) -> None:
    text = "intro ## VERDICT: PASS\nsee ## Summary\nand ## Issues\n"
    result = contract.check(text, "")
    assert result.missing == ["VERDICT", "Summary", "Issues"]


def test_dollar_anchor_needs_end_of_line(contract: OutputContract) -> None:
    # "## Issues$" must end the line; trailing text fails it.
    assert contract.check(GOOD.replace("## Issues\n", "## Issues and more\n"), "").missing == [
        "Issues"
    ]


def test_crlf_output_is_normalised(contract: OutputContract) -> None:
    assert contract.check(GOOD.replace("\n", "\r\n"), "").valid


def test_verdict_not_allowed(contract: OutputContract) -> None:
    text = GOOD.replace("PASS", "MAYBE")
    result = contract.check(text, "")
    assert not result.valid
    assert result.verdict == "MAYBE"
    assert result.verdict_error is not None
    assert "MAYBE" in result.verdict_error
    assert result.missing == ["VERDICT"]  # the section pattern also rejects it


def test_verdict_missing_is_invalid() -> None:
    contract = OutputContract.model_validate({"verdict_values": ["PASS", "FAIL"]})
    result = contract.check("## Summary\nno verdict here\n", "")
    assert not result.valid
    assert result.verdict is None
    assert result.verdict_error is not None
    assert "no VERDICT" in result.verdict_error


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("## VERDICT: PASS", "PASS"),
        ("VERDICT: FAIL", "FAIL"),
        ("**VERDICT:** NEEDS_DISCUSSION", "NEEDS_DISCUSSION"),
        ("### Verdict: pass", "PASS"),
        ("## VERDICT:   `FAIL`", "FAIL"),
    ],
)
def test_verdict_forms(line: str, expected: str) -> None:
    contract = OutputContract.model_validate(
        {"verdict_values": ["PASS", "FAIL", "NEEDS_DISCUSSION"]}
    )
    result = contract.check(f"text\n{line}\nmore", "")
    assert result.valid
    assert result.verdict == expected


def test_first_verdict_wins() -> None:
    assert find_verdict("VERDICT: FAIL\n## VERDICT: PASS") == "FAIL"
    assert find_verdict("the verdict is unclear") is None


def test_without_verdict_values_any_verdict_is_reported() -> None:
    contract = OutputContract.model_validate({"required_sections": []})
    result = contract.check("VERDICT: WHATEVER", "")
    assert result.valid
    assert result.verdict == "WHATEVER"


def test_no_contract_is_always_valid() -> None:
    assert check_output(None, "anything", "") == ContractResult(valid=True)
    assert check_input(None, None) == []


def test_unknown_keys_are_preserved(contract: OutputContract) -> None:
    dumped = contract.model_dump(mode="json")
    assert dumped["metrics"] == [{"name": "files_changed", "type": "integer"}]
    when = dumped["required_sections"][4]["required_when"]
    assert when["invocation_context"] == "ring:dev-refactor"


def test_bad_regex_names_the_section() -> None:
    with pytest.raises(ValidationError) as info:
        OutputContract.model_validate(
            {"required_sections": [{"name": "Broken One", "pattern": "^## (Summary"}]}
        )
    assert "Broken One" in str(info.value)
    assert "regex" in str(info.value)


def test_compiled_regex_is_multiline() -> None:
    section = RequiredSection(name="S", pattern="^## S$")
    assert section.regex.search("a\n## S\nb")
    assert section.required  # listed sections default to required


def test_check_output_function(contract: OutputContract) -> None:
    assert check_output(contract, GOOD, "").valid
    assert check_output(contract, "nothing", "").missing == ["VERDICT", "Summary", "Issues"]


def test_shipped_reviewer_contract() -> None:
    definition = load_definition_file("definitions/code-reviewer-fast.md")
    assert definition.output_contract is not None
    text = "## VERDICT: FAIL\n\n## Summary\nx\n\n## Issues\n- [blocking] bug\n"
    assert definition.check_output(text).valid
    result = definition.check_output(text, "SECURITY REVIEW please")
    assert result.missing == ["Security"]


# --- input contracts ----------------------------------------------------------

INPUTS: dict[str, Any] = {
    "required_context": [
        {"name": "task_description", "type": "string", "description": "What to implement"},
        {"name": "requirements", "type": "markdown", "description": "Acceptance criteria"},
        {"name": "count", "type": "integer", "description": "How many"},
    ],
    "optional_context": [
        {"name": "acceptance_criteria", "type": "list[string]", "description": "List"},
        {"name": "existing_code", "type": "file_content", "description": "Code"},
    ],
}


@pytest.fixture
def inputs() -> InputContract:
    return InputContract.model_validate(INPUTS)


def test_input_all_present(inputs: InputContract) -> None:
    context = {"task_description": "x", "requirements": "y", "count": 3, "extra": True}
    assert inputs.check(context) == []


def test_input_missing_names_field_and_description(inputs: InputContract) -> None:
    problems = inputs.check({"task_description": "x", "count": 1})
    assert problems == [
        {
            "field": "requirements",
            "problem": "missing",
            "description": "Acceptance criteria",
            "message": "required context 'requirements' is missing: Acceptance criteria",
        }
    ]


def test_input_none_context_misses_everything(inputs: InputContract) -> None:
    assert [p["field"] for p in check_input(inputs, None)] == [
        "task_description",
        "requirements",
        "count",
    ]


def test_input_blank_string_counts_as_missing(inputs: InputContract) -> None:
    problems = inputs.check({"task_description": "  ", "requirements": "y", "count": 1})
    assert [p["field"] for p in problems] == ["task_description"]


def test_input_wrong_types(inputs: InputContract) -> None:
    problems = inputs.check(
        {
            "task_description": 5,
            "requirements": "y",
            "count": True,
            "acceptance_criteria": "not a list",
        }
    )
    assert [(p["field"], p["problem"]) for p in problems] == [
        ("task_description", "wrong-type"),
        ("count", "wrong-type"),
        ("acceptance_criteria", "wrong-type"),
    ]


def test_free_form_types_are_not_checked() -> None:
    contract = InputContract.model_validate(
        {"required_context": [{"name": "blob", "type": "exotic-thing"}]}
    )
    assert contract.check({"blob": {"any": "thing"}}) == []
