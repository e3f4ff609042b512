"""Model prices (USD per million tokens, :data:`PRICES` merged with ``MODEL_PRICES``), the
server-tool fees (:data:`SERVER_TOOL_FEES`) and the cost estimate of a run. The lookup order
(override, table, family word, :data:`DEFAULT_PRICE`: an estimate errs high, never low) and
the cache-write rate: docs/runner.md ("Pricing").
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agents.types import Usage

if TYPE_CHECKING:
    from agents.config import Settings

__all__ = [
    "DEFAULT_PRICE",
    "FAMILY_PRICES",
    "PRICES",
    "SERVER_TOOL_FEES",
    "ModelPrice",
    "PriceSource",
    "estimate_cost",
    "price_for",
    "server_tool_fees",
]

_PER_TOKEN = 1 / 1_000_000
CACHE_WRITE_FACTOR = 1.25
CACHE_READ_FACTOR = 0.1

PriceSource = Literal["override", "table", "family", "default"]


class ModelPrice(BaseModel):
    """USD per million tokens."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cache_write: float = Field(default=-1.0)
    cache_read: float = Field(default=-1.0)

    @model_validator(mode="after")
    def _derived(self) -> ModelPrice:
        if self.cache_write < 0:
            object.__setattr__(self, "cache_write", round(self.input * CACHE_WRITE_FACTOR, 6))
        if self.cache_read < 0:
            object.__setattr__(self, "cache_read", round(self.input * CACHE_READ_FACTOR, 6))
        return self

    def cost(self, usage: Usage) -> float:
        return (
            usage.input_tokens * self.input
            + usage.output_tokens * self.output
            + usage.cache_creation_input_tokens * self.cache_write
            + usage.cache_read_input_tokens * self.cache_read
        ) * _PER_TOKEN


def _price(input_: float, output: float) -> ModelPrice:
    return ModelPrice(input=input_, output=output)


#: Published list prices (USD / MTok: input, output; cache write 1.25x, read 0.1x input).
PRICES: dict[str, ModelPrice] = {
    "claude-opus-4-6": _price(5, 25),
    "claude-opus-4-5": _price(5, 25),
    "claude-opus-4-1": _price(15, 75),
    "claude-opus-4-0": _price(15, 75),
    "claude-opus-4-20250514": _price(15, 75),
    "claude-3-opus": _price(15, 75),
    "claude-sonnet-4-6": _price(3, 15),
    "claude-sonnet-4-5": _price(3, 15),
    "claude-sonnet-4-0": _price(3, 15),
    "claude-sonnet-4-20250514": _price(3, 15),
    "claude-3-7-sonnet": _price(3, 15),
    "claude-3-5-sonnet": _price(3, 15),
    "claude-haiku-4-5": _price(1, 5),
    "claude-3-5-haiku": _price(0.8, 4),
    "claude-3-haiku": _price(0.25, 1.25),
}

#: Unknown ids of a known family: the highest price known for that family.
FAMILY_PRICES: dict[str, ModelPrice] = {
    "opus": _price(15, 75),
    "sonnet": _price(3, 15),
    "haiku": _price(1, 5),
}

#: Anything else: the most expensive row of the table.
DEFAULT_PRICE: ModelPrice = _price(15, 75)

_FAMILY_WORD = re.compile(r"(?<![a-z])(" + "|".join(FAMILY_PRICES) + r")(?![a-z])")


def _overrides(settings: Settings | None) -> dict[str, ModelPrice]:
    if settings is None:
        from agents.config import get_settings

        settings = get_settings()
    found: dict[str, ModelPrice] = {}
    for model, row in settings.model_prices.items():
        try:
            found[model.strip()] = ModelPrice.model_validate(row)
        except ValidationError as exc:
            from agents.config import ConfigError

            raise ConfigError(f"MODEL_PRICES[{model!r}] is invalid: {exc}") from None
    return found


def _lookup(model: str, table: dict[str, ModelPrice]) -> ModelPrice | None:
    if model in table:
        return table[model]
    prefixes = [key for key in table if model.startswith(key + "-") or model.startswith(key + "@")]
    return table[max(prefixes, key=len)] if prefixes else None


def price_for(model: str, settings: Settings | None = None) -> tuple[ModelPrice, PriceSource]:
    """The price row for ``model`` and where it came from."""
    override = _lookup(model, _overrides(settings))
    if override is not None:
        return override, "override"
    row = _lookup(model, PRICES)
    if row is not None:
        return row, "table"
    family = _FAMILY_WORD.search(model.lower())
    if family is not None:
        return FAMILY_PRICES[family.group(1)], "family"
    return DEFAULT_PRICE, "default"


#: USD per server-tool request, keyed like ``Usage.server_tool_use`` (unknown kinds: no fee).
SERVER_TOOL_FEES: dict[str, float] = {
    "web_search_requests": 10 / 1000,
    "web_fetch_requests": 0.0,
}


def server_tool_fees(usage: Usage) -> float:
    """USD of the server-tool requests in ``usage``."""
    return sum(
        SERVER_TOOL_FEES.get(kind, 0.0) * count for kind, count in usage.server_tool_use.items()
    )


def estimate_cost(model: str, usage: Usage, settings: Settings | None = None) -> float:
    """Estimated USD cost of ``usage`` on ``model`` (cache reads and writes and server-tool
    fees included)."""
    price, _ = price_for(model, settings)
    return round(price.cost(usage) + server_tool_fees(usage), 8)
