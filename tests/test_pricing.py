"""Model prices and the cost estimate."""

from __future__ import annotations

import json

import pytest

from agents.config import ConfigError, Settings
from agents.pricing import (
    DEFAULT_PRICE,
    FAMILY_PRICES,
    PRICES,
    ModelPrice,
    estimate_cost,
    price_for,
)
from agents.types import Usage

NO_OVERRIDES = Settings()


def test_exact_ids_and_dated_snapshots_use_the_table() -> None:
    assert price_for("claude-sonnet-4-5", NO_OVERRIDES) == (PRICES["claude-sonnet-4-5"], "table")
    price, source = price_for("claude-sonnet-4-5-20250929", NO_OVERRIDES)
    assert (price, source) == (PRICES["claude-sonnet-4-5"], "table")
    price, _ = price_for("claude-haiku-4-5-20251001", NO_OVERRIDES)
    assert price.input == 1
    assert price.output == 5


def test_unknown_ids_fall_back_to_their_family_then_the_default() -> None:
    assert price_for("claude-opus-9-9", NO_OVERRIDES) == (FAMILY_PRICES["opus"], "family")
    assert price_for("claude-haiku-7", NO_OVERRIDES) == (FAMILY_PRICES["haiku"], "family")
    assert price_for("claude-mythos-5-2", NO_OVERRIDES) == (DEFAULT_PRICE, "default")
    # the default is never cheaper than anything in the table
    assert all(DEFAULT_PRICE.input >= row.input for row in PRICES.values())
    assert all(DEFAULT_PRICE.output >= row.output for row in PRICES.values())


def test_cache_prices_default_to_the_published_multipliers() -> None:
    price = ModelPrice(input=3, output=15)
    assert price.cache_write == pytest.approx(3.75)
    assert price.cache_read == pytest.approx(0.3)


def test_cost_counts_every_kind_of_token() -> None:
    usage = Usage(
        input_tokens=1_000_000,
        output_tokens=1_000_000,
        cache_creation_input_tokens=1_000_000,
        cache_read_input_tokens=1_000_000,
    )
    assert estimate_cost("claude-sonnet-4-5", usage, NO_OVERRIDES) == pytest.approx(
        3 + 15 + 3.75 + 0.3
    )
    small = Usage(input_tokens=100, output_tokens=50, cache_read_input_tokens=5000)
    expected = (100 * 3 + 50 * 15 + 5000 * 0.3) / 1_000_000
    assert estimate_cost("claude-sonnet-4-5", small, NO_OVERRIDES) == pytest.approx(expected)
    assert estimate_cost("claude-sonnet-4-5", Usage(), NO_OVERRIDES) == 0


def test_overrides_from_model_prices(monkeypatch: pytest.MonkeyPatch) -> None:
    prices = {
        "claude-mythos-5": {"input": 20, "output": 100},
        "claude-sonnet-4-5": {"input": 1, "output": 2, "cache_write": 9, "cache_read": 0.5},
    }
    monkeypatch.setenv("MODEL_PRICES", json.dumps(prices))
    settings = Settings.from_env()
    price, source = price_for("claude-mythos-5-2", settings)
    assert source == "override"
    assert (price.input, price.output, price.cache_write, price.cache_read) == (20, 100, 25, 2)
    price, source = price_for("claude-sonnet-4-5-20250929", settings)
    assert source == "override"
    assert price.cache_write == 9
    usage = Usage(input_tokens=1_000_000)
    assert estimate_cost("claude-sonnet-4-5", usage, settings) == pytest.approx(1)


def test_an_invalid_override_is_a_configuration_error() -> None:
    settings = Settings(model_prices={"claude-x": {"input": -1, "output": 2}})
    with pytest.raises(ConfigError, match="claude-x"):
        price_for("claude-x", settings)
    settings = Settings(model_prices={"claude-x": {"input": 1, "output": 2, "bogus": 1}})
    with pytest.raises(ConfigError):
        estimate_cost("claude-x", Usage(input_tokens=1), settings)
