"""Agent names: the gate before any S3 key is built."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents.errors import InvalidAgentName
from agents.names import MAX_NAME_LENGTH, is_valid_agent_name, s3_key_for, validate_agent_name


@pytest.mark.parametrize(
    "name",
    [
        "backend-engineer-python",
        "ring:code-reviewer",
        "a",
        "0",
        "python_pro",
        "x" * MAX_NAME_LENGTH,
        "team-lead:v2",
        "dotnet-framework-4.8-expert",
        "powershell-5.1-expert",
        "a.b",
        "v1.2.3",
        "ring:tool.v2",
        "x" * (MAX_NAME_LENGTH - 2) + ".y",
    ],
)
def test_valid_names(name: str) -> None:
    assert validate_agent_name(name) == name
    assert is_valid_agent_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "x" * (MAX_NAME_LENGTH + 1),
        "..",
        "../x",
        "../../etc/passwd",
        "a/b",
        "/abs",
        "%2e%2e",
        "%2e%2e%2fx",
        "a%2fb",
        "a\x00b",
        "a\n",
        "x\nname",
        " leading",
        "trailing ",
        "UPPER",
        "Backend",
        "-starts-with-dash",
        "_underscore",
        ":colon",
        "a\\b",
        ".",
        ".hidden",
        "trailing.",
        "a..b",
        "a...b",
        "a./b",
        "a/.b",
        "./a",
        "a/..",
        "..a",
        "a..",
        "a.b.",
        ".a.b",
        "a.b\n",
        "a%2e%2eb",
        "x" * MAX_NAME_LENGTH + ".y",
        "\u0430gent",  # Cyrillic a
        "agent\u200b",  # zero-width space
        "\uff41gent",  # fullwidth a
        "caf\u00e9",
        "a b",
        "a?b",
        "a#b",
        "a*",
    ],
)
def test_invalid_names(name: str) -> None:
    with pytest.raises(InvalidAgentName) as info:
        validate_agent_name(name)
    assert info.value.status == 400
    assert not is_valid_agent_name(name)
    with pytest.raises(InvalidAgentName):
        s3_key_for("agents/", name)


def test_non_string_names_are_rejected() -> None:
    for value in (None, 1, b"name", ["a"]):
        with pytest.raises(InvalidAgentName):
            validate_agent_name(value)  # type: ignore[arg-type]
        assert not is_valid_agent_name(value)


def test_error_message_is_bounded() -> None:
    with pytest.raises(InvalidAgentName) as info:
        validate_agent_name("A" * 100)
    assert len(str(info.value)) < 250


def test_s3_key_for() -> None:
    assert s3_key_for("agents/", "ring:code-reviewer") == "agents/ring:code-reviewer.md"
    assert s3_key_for("agents/", "powershell-5.1-expert") == "agents/powershell-5.1-expert.md"
    assert s3_key_for("", "x") == "x.md"


@given(st.text(max_size=200))
def test_valid_names_never_escape_the_prefix(name: str) -> None:
    if not is_valid_agent_name(name):
        with pytest.raises(InvalidAgentName):
            s3_key_for("agents/", name)
        return
    key = s3_key_for("agents/", name)
    rest = key.removeprefix("agents/")
    assert "/" not in rest
    assert ".." not in rest
    assert not name.startswith(".")
    assert not name.endswith(".")
    assert "%" not in rest
    assert rest.isascii()
    assert rest == name + ".md"


@given(st.text(alphabet="a1.:-_/%", max_size=40))
def test_dotted_names_never_hold_a_traversal(name: str) -> None:
    if not is_valid_agent_name(name):
        return
    assert ".." not in name
    assert "/" not in name
    assert name[0] != "."
    assert name[-1] != "."
    assert name not in (".", "..")
