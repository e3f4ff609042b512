"""Model alias resolution."""

from __future__ import annotations

import json
import typing

import pytest

from agents.config import Settings
from agents.errors import UnknownModel
from agents.model_aliases import (
    default_aliases,
    derive_aliases,
    known_model_ids,
    model_aliases,
    resolve_model,
)
from tests.plugins.children import python_output


def _sdk_ids() -> list[str]:
    from anthropic.types.model_param import ModelParam

    literal, _str = typing.get_args(ModelParam)
    return list(typing.get_args(literal))


def test_known_ids_match_the_sdk_literal() -> None:
    assert set(known_model_ids()) == set(_sdk_ids())


def test_defaults_pick_the_newest_id_per_family() -> None:
    aliases = default_aliases()
    assert {"opus", "sonnet", "haiku"} <= set(aliases)
    for family, model_id in aliases.items():
        assert model_id in _sdk_ids()
        assert f"-{family}-" in model_id
    # The SDK lists claude-fable-5-2 (see docs/decisions.md): fable resolves.
    assert aliases["fable"].startswith("claude-fable-")


def test_derive_aliases_ordering() -> None:
    ids = [
        "claude-opus-4-5-20251101",
        "claude-opus-4-5",
        "claude-opus-4-8",
        "claude-opus-5",
        "claude-sonnet-4-5-20250929",
        "claude-mythos-preview",
        "claude-3-5-haiku-20241022",
        "claude-3-5-haiku-latest",
        "claude-3-7-sonnet-20250219",
    ]
    assert derive_aliases(ids) == {
        "haiku": "claude-3-5-haiku-latest",
        "opus": "claude-opus-5",
        "sonnet": "claude-sonnet-4-5-20250929",
    }
    assert derive_aliases(["claude-opus-4-5-20251101", "claude-opus-4-5"]) == {
        "opus": "claude-opus-4-5"
    }
    assert derive_aliases(["claude-opus-5-1", "claude-opus-5-10"]) == {"opus": "claude-opus-5-10"}


def test_default_aliases_is_a_copy() -> None:
    aliases = default_aliases()
    aliases["opus"] = "changed"
    assert default_aliases()["opus"] != "changed"


@pytest.mark.parametrize("alias", ["opus", "sonnet", "haiku", "fable", "Opus", " haiku "])
def test_aliases_resolve(alias: str) -> None:
    assert resolve_model(alias, Settings()) == default_aliases()[alias.strip().lower()]


def test_full_ids_pass_through() -> None:
    assert resolve_model("claude-opus-4-5-20251101", Settings()) == "claude-opus-4-5-20251101"
    assert resolve_model("claude-some-future-model", Settings()) == "claude-some-future-model"


@pytest.mark.parametrize("alias", [None, "", "inherit", "INHERIT"])
def test_inherit_uses_default_model(alias: str | None) -> None:
    assert resolve_model(alias, Settings(default_model="haiku")) == default_aliases()["haiku"]
    assert resolve_model(alias, Settings(default_model="claude-x-1")) == "claude-x-1"


def test_default_model_cannot_be_inherit() -> None:
    with pytest.raises(UnknownModel):
        resolve_model(None, Settings(default_model="inherit"))


def test_unknown_alias() -> None:
    with pytest.raises(UnknownModel) as info:
        resolve_model("wizard", Settings())
    assert "wizard" in info.value.detail
    assert "opus" in info.value.detail  # tells the caller what exists
    assert info.value.status == 422
    assert not info.value.retryable


ALIASES = {"wizard": "claude-wizard-1", "Opus": "claude-opus-4-5", "fast": "haiku"}


def test_model_aliases_env_merges_over_defaults() -> None:
    settings = Settings.from_env({"MODEL_ALIASES": json.dumps(ALIASES)})
    assert resolve_model("wizard", settings) == "claude-wizard-1"
    assert resolve_model("opus", settings) == "claude-opus-4-5"
    assert resolve_model("fast", settings) == default_aliases()["haiku"]  # chained alias
    assert model_aliases(settings)["sonnet"] == default_aliases()["sonnet"]


def test_alias_loops_are_errors() -> None:
    settings = Settings(model_aliases={"a": "b", "b": "a"})
    with pytest.raises(UnknownModel):
        resolve_model("a", settings)


def test_settings_default_comes_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEFAULT_MODEL", "opus")
    assert resolve_model("inherit") == default_aliases()["opus"]


def test_resolving_does_not_import_anthropic() -> None:
    code = (
        "import sys; from agents.model_aliases import resolve_model;"
        "from agents.config import Settings;"
        "resolve_model('opus', Settings()); print('anthropic' in sys.modules)"
    )
    assert python_output(["-c", code], timeout=60).strip() == "False"
