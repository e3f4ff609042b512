"""Prompt caching: input cost of 10 runs of the flagship agent, with and without the cache.

Runs the flagship definition through the real runner (real SDK, real HTTP) against
the local fake Messages API, which emulates the prompt cache, and prices the
reported usage with :mod:`agents.pricing`. "Without caching" prices the very same
token counts as plain input. Cost ratios are deterministic (token estimates, not
timings), so ``tests/test_bench_prompt_cache.py`` asserts the bound.

    python -m bench.prompt_cache [--runs 10] [--definition PATH]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

from agents.config import Settings
from agents.definitions import load_definition_file
from agents.pricing import price_for
from agents.runner import Deadline, Runner
from agents.types import Usage
from local.fake_anthropic import FakeAnthropicServer

ROOT = Path(__file__).resolve().parents[1]
FLAGSHIP_CANDIDATES = (
    ROOT / "definitions" / "backend-engineer-python.md",
    ROOT.parent / "shared" / "agents" / "backend-engineer-python.md",
)
#: Goal: 10 cached runs cost at most this fraction of the same runs uncached (input side).
TARGET_RATIO = 0.25
BENCH_KEY = "sk-ant-bench-FAKEKEY-0000000000"

TASKS = (
    "Add a paginated GET /orders endpoint with FastAPI and SQLAlchemy 2.0 async.",
    "Write an Alembic migration adding a non-null tenant_id to the invoices table.",
    "Implement idempotent payment capture with a Postgres advisory lock.",
    "Add structured logging with request ids to an existing Django REST view.",
    "Design a Celery task that retries webhook delivery with exponential backoff.",
    "Add row-level security for tenants to the accounts table and its queries.",
    "Write hypothesis property tests for a money-rounding helper using Decimal.",
    "Expose a health endpoint that checks the database and Redis with timeouts.",
    "Replace a blocking requests call in an async handler with httpx.AsyncClient.",
    "Add optimistic locking with a version column to the orders update endpoint.",
)


@dataclass
class RunCost:
    usage: Usage
    cached_usd: float
    uncached_usd: float


@dataclass
class BenchResult:
    model: str
    runs: list[RunCost] = field(default_factory=list)

    @property
    def cached_usd(self) -> float:
        return sum(run.cached_usd for run in self.runs)

    @property
    def uncached_usd(self) -> float:
        return sum(run.uncached_usd for run in self.runs)

    @property
    def ratio(self) -> float:
        return self.cached_usd / self.uncached_usd if self.uncached_usd else 0.0


def flagship_path() -> Path:
    for candidate in FLAGSHIP_CANDIDATES:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("the flagship definition backend-engineer-python.md was not found")


def input_costs(model: str, usage: Usage, settings: Settings) -> tuple[float, float]:
    """(input-side USD as billed with caching, the same tokens priced as plain input)."""
    price, _ = price_for(model, settings)
    cached = (
        usage.input_tokens * price.input
        + usage.cache_creation_input_tokens * price.cache_write
        + usage.cache_read_input_tokens * price.cache_read
    ) / 1_000_000
    total = usage.input_tokens + usage.cache_creation_input_tokens + usage.cache_read_input_tokens
    return cached, total * price.input / 1_000_000


def run_bench(
    runs: int = 10, *, definition: Path | None = None, base_url: str | None = None
) -> BenchResult:
    """``runs`` runs of the flagship through the runner, against ``base_url`` or a fresh fake."""
    agent = load_definition_file(definition or flagship_path())
    settings = Settings.from_env().model_copy(update={"anthropic_api_key": BENCH_KEY})
    server = None if base_url else FakeAnthropicServer().start()
    try:
        url = base_url or (server.url if server else "")
        runner = Runner(settings=settings, base_url=url)
        result = BenchResult(model="")
        try:
            for number in range(runs):
                outcome = runner.run(
                    agent, TASKS[number % len(TASKS)], deadline=Deadline.after_ms(60_000)
                )
                cached, uncached = input_costs(outcome.model, outcome.usage, settings)
                result.model = outcome.model
                result.runs.append(RunCost(outcome.usage, cached, uncached))
        finally:
            runner.forget_client()
        return result
    finally:
        if server is not None:
            server.stop()


def render(result: BenchResult) -> str:
    header = (
        f"{'run':>3}  {'input':>6}  {'cache write':>11}  {'cache read':>10}  "
        f"{'cached $':>10}  {'uncached $':>10}"
    )
    lines = [f"model: {result.model} (input-side cost, USD)", header, "-" * len(header)]
    for number, run in enumerate(result.runs, 1):
        usage = run.usage
        lines.append(
            f"{number:>3}  {usage.input_tokens:>6}  {usage.cache_creation_input_tokens:>11}  "
            f"{usage.cache_read_input_tokens:>10}  {run.cached_usd:>10.5f}  "
            f"{run.uncached_usd:>10.5f}"
        )
    lines.append("-" * len(header))
    lines.append(
        f"{'all':>3}  {'':>6}  {'':>11}  {'':>10}  {result.cached_usd:>10.5f}  "
        f"{result.uncached_usd:>10.5f}"
    )
    verdict = "OK" if result.ratio <= TARGET_RATIO else "ABOVE TARGET"
    lines.append(f"ratio cached/uncached: {result.ratio:.3f} (target <= {TARGET_RATIO}) {verdict}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.prompt_cache", description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--definition", type=Path, default=None)
    args = parser.parse_args(argv)
    from agents.observability import logger

    logger.setLevel("WARNING")  # the table, not a log line per run
    result = run_bench(args.runs, definition=args.definition)
    print(render(result))
    return 0 if result.ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
