"""bench.economy_cost: standard vs economy on the fake, one pricing table (deterministic)."""

from __future__ import annotations

from bench import economy_cost


def test_economy_costs_half_and_caching_takes_it_below_the_goal() -> None:
    result = economy_cost.run(6)
    assert result.creations == 2  # one plain and one cached Message Batch
    assert result.ratio <= economy_cost.TARGET_RATIO
    assert result.ratio > 0.45  # the batch factor, not a broken measurement
    assert result.cached_ratio <= economy_cost.TARGET_CACHED_RATIO
