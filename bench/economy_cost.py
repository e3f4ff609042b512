"""Economy batches: the same 50 inputs priced as a standard batch and as an economy batch.

Both run against the local fake Messages API (real SDK, real HTTP): standard as 50
real-time calls, economy as one Message Batch (``/v1/messages/batches``). Both are priced
with the one table of :mod:`agents.pricing` (economy at the batch factor of
:mod:`agents.economy.requests`). "Plain": no cache breakpoints on either side; "cached":
the economy items keep the runner's cached system blocks, priced against the same plain
standard run. Token counts are the fake's estimates, so the ratios are deterministic.

    python -m bench.economy_cost [--items 50]
"""

from __future__ import annotations

import argparse
import copy
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.config import Settings
from agents.definitions import load_definition_file
from agents.economy.requests import batch_price_factor, build_request
from agents.pricing import estimate_cost
from agents.records import InvocationMode, InvocationRecord, Processing
from agents.types import Usage
from local.fake_anthropic import FakeAnthropicServer
from local.fake_anthropic.batches import book_of

ROOT = Path(__file__).resolve().parents[1]
DEFINITION = ROOT / "definitions" / "backend-engineer-python.md"
#: Goals: economy / standard, without and with prompt caching.
TARGET_RATIO = 0.5
TARGET_CACHED_RATIO = 0.35
BENCH_KEY = "sk-ant-bench-FAKEKEY-0000000000"


@dataclass(frozen=True)
class EconomyCost:
    items: int
    standard_usd: float
    economy_usd: float
    economy_cached_usd: float
    creations: int

    @property
    def ratio(self) -> float:
        return self.economy_usd / self.standard_usd

    @property
    def cached_ratio(self) -> float:
        return self.economy_cached_usd / self.standard_usd


def _requests(count: int, settings: Settings) -> list[dict[str, Any]]:
    definition = load_definition_file(DEFINITION)
    out = []
    for n in range(count):
        record = InvocationRecord.new(
            tenant="bench",
            agent=definition.name,
            input=f"Task {n}: add a paginated GET /items/{n} endpoint with FastAPI.",
            mode=InvocationMode.BATCH,
            id=f"inv_bench_{n:04d}",
            processing=Processing.ECONOMY,
        )
        out.append(build_request(definition, record, settings).as_json())
    return out


def _plain(request: dict[str, Any]) -> dict[str, Any]:
    stripped = copy.deepcopy(request)
    for block in stripped["params"]["system"]:
        block.pop("cache_control", None)
    return stripped


def _economy(client: Any, requests: list[dict[str, Any]], settings: Settings) -> float:
    batch = client.messages.batches.create(requests=requests)
    while client.messages.batches.retrieve(batch.id).processing_status != "ended":
        time.sleep(0.05)
    total = 0.0
    for response in client.messages.batches.results(batch.id):
        message = response.result.message
        total += estimate_cost(message.model, Usage.from_api(message.usage), settings)
    return total * batch_price_factor()


def run(items: int = 50) -> EconomyCost:
    import anthropic

    settings = Settings()
    requests = _requests(items, settings)
    with FakeAnthropicServer() as server:
        book_of(server).processing_delay_s = 0.0
        client = anthropic.Anthropic(api_key=BENCH_KEY, base_url=server.url, max_retries=0)
        standard = 0.0
        for request in requests:
            answer = client.messages.create(**_plain(request)["params"])
            standard += estimate_cost(answer.model, Usage.from_api(answer.usage), settings)
        server.cache.clear()
        economy = _economy(client, [_plain(r) for r in requests], settings)
        server.cache.clear()
        cached = _economy(client, requests, settings)
        creations = int(book_of(server).stats()["creations"])
    return EconomyCost(items, standard, economy, cached, creations)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.economy_cost")
    parser.add_argument("--items", type=int, default=50)
    args = parser.parse_args(argv)
    result = run(args.items)
    print(f"{result.items} items, one pricing table")
    print(f"  standard (real-time)      ${result.standard_usd:.6f}")
    print(
        f"  economy (Message Batch)   ${result.economy_usd:.6f}  ratio {result.ratio:.3f}"
        f"  (goal <= {TARGET_RATIO})"
    )
    print(
        f"  economy, prompt caching   ${result.economy_cached_usd:.6f}  ratio "
        f"{result.cached_ratio:.3f}  (goal <= {TARGET_CACHED_RATIO})"
    )
    ok = result.ratio <= TARGET_RATIO and result.cached_ratio <= TARGET_CACHED_RATIO
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
