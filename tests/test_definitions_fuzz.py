"""Property: no input of any kind makes the parser raise anything but DefinitionError."""

from __future__ import annotations

import json
from typing import Any

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agents.definitions import KNOWN_FIELDS, AgentDefinition, parse_definition
from agents.errors import DefinitionError

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _outcome(data: str | bytes) -> AgentDefinition | DefinitionError:
    error: DefinitionError | None
    try:
        definition = parse_definition(data, path="fuzz.md")
    except DefinitionError as exc:
        error = exc
    else:
        error = None
    if error is not None:
        assert error.path == "fuzz.md"
        assert error.detail
        assert error.line is None or error.line >= 1
        str(error)  # formatting never fails
        return error
    # Whatever parsed must serialise (records, API responses).
    json.dumps(definition.model_dump(mode="json"), allow_nan=False)
    json.dumps(definition.summary(), allow_nan=False)
    return definition


@FUZZ
@given(st.text(max_size=2000))
@example("---\n---\n")
@example("---\nname: a\n---")
@example("---\n\x00\n---\n")
@example("---\nname: !!python/object:os.system x\n---\nb")
@example("---\na: &a [*a]\nname: a\n---\n")
def test_arbitrary_text(text: str) -> None:
    _outcome(text)


@FUZZ
@given(st.binary(max_size=2000))
@example(b"\xef\xbb\xbf---\nname: a\n---\n")
@example(b"---\nname: \xc3\x28\n---\n")
def test_arbitrary_bytes(data: bytes) -> None:
    _outcome(data)


_TOKENS = st.sampled_from(
    [
        ":",
        ": ",
        "- ",
        "[",
        "]",
        "{",
        "}",
        "&a ",
        "*a",
        "!!binary ",
        "!!set ",
        "!!python/object:x ",
        "2025-01-26",
        "2025-13-45",
        "12:30:00",
        "0x1F",
        ".inf",
        ".nan",
        "~",
        "null",
        "yes",
        "\t",
        "'",
        '"',
        "#",
        "|",
        ">",
        "---",
        "...",
        "%YAML 1.2",
        "<<: *a",
        "? ",
        "1" * 50,
        "^## (Summary",
        "Triggers on: 'x'",
    ]
)
_KEYS = st.sampled_from(
    [
        *sorted(KNOWN_FIELDS),
        "required_sections",
        "pattern",
        "required_when",
        "prompt_contains",
        "invocation_context",
        "verdict_values",
        "required_context",
        "type",
        "changelog",
    ]
)
_VALUE = st.lists(st.one_of(_TOKENS, st.text(max_size=12)), max_size=6).map("".join)
_LINE = st.tuples(st.sampled_from(["", "  ", "    ", "  - ", "- "]), _KEYS, _VALUE).map(
    lambda t: f"{t[0]}{t[1]}: {t[2]}"
)


@FUZZ
@given(
    st.lists(st.one_of(_LINE, _VALUE), max_size=25),
    st.text(max_size=200),
    st.sampled_from(["\n", "\r\n", "\r", " "]),
)
def test_frontmatter_like_structures(lines: list[str], body: str, newline: str) -> None:
    text = newline.join(["---", *lines, "---", body])
    _outcome(text)


_NAME = st.from_regex(r"[a-z0-9][a-z0-9_:\-]{0,30}", fullmatch=True)
_JSONISH: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | st.dates(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@FUZZ
@given(
    _NAME,
    st.text(max_size=200),
    st.dictionaries(st.text(min_size=1, max_size=10), _JSONISH, max_size=6),
    st.text(min_size=1, max_size=200).filter(lambda b: b.strip() != ""),
)
def test_valid_structures_round_trip(
    name: str, description: str, extra: dict[str, Any], body: str
) -> None:
    extra = {k: v for k, v in extra.items() if k not in {"name", "description"}}
    front = yaml.safe_dump({"name": name, "description": description, **extra}, sort_keys=False)
    text = f"---\n{front}---\n{body}"
    outcome = _outcome(text)
    if isinstance(outcome, DefinitionError):
        # Only the typed fields may legitimately reject generated values.
        typed = {"model", "version", "tools", "color", "output_schema", "input_schema"}
        assert typed & set(extra), (outcome, extra)
        return
    assert outcome.name == name
    assert outcome.description == description
    assert outcome.body == body.replace("\r\n", "\n").replace("\r", "\n").strip("\n").rstrip()


@FUZZ
@given(_NAME, st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1, max_size=40))
def test_flattened_files_say_line_breaks_are_missing(name: str, words: str) -> None:
    text = f"---\nname: {name}\ndescription: {words}\nmodel: haiku\n---\n# Title\nbody"
    flat = " ".join(text.split("\n"))
    outcome = _outcome(flat)
    assert isinstance(outcome, DefinitionError)
    assert "line breaks are missing" in outcome.detail
