"""The prompt-cache benchmark's bound: 10 cached runs cost <= 0.25x the uncached input."""

from __future__ import annotations

from bench.prompt_cache import TARGET_RATIO, render, run_bench
from tests.plugins.model import FakeModel


def test_ten_flagship_runs_cost_at_most_a_quarter_with_caching(fake_model: FakeModel) -> None:
    result = run_bench(10, base_url=fake_model.url)
    print(render(result))
    assert len(result.runs) == 10
    assert result.runs[0].usage.cache_creation_input_tokens > 1000
    assert all(run.usage.cache_read_input_tokens > 1000 for run in result.runs[1:])
    assert result.ratio <= TARGET_RATIO
    assert fake_model.stats()["cache_reads"] == 9
