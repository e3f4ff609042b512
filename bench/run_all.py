"""Every benchmark, one table: ``make bench`` / ``python -m bench``.

Runs the layer, cold-import, AWS-call, handler-overhead, batch-concurrency, prompt-cache,
tool-loop and event-log long-poll benchmarks in turn, prints ONE table (benchmark, metric,
value, goal, met?) with the machine it ran on, and writes it to ``.bench/last.md``. A
benchmark that fails becomes a row saying so (the others still run). Exit status 1 when a
goal is missed.

    python -m bench [--samples 5] [--requests 200] [--rebuild-layer] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import platform
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench.table import Row, render

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / ".bench" / "last.md"
SECTIONS = (
    "layer",
    "cold_import",
    "aws_calls",
    "handler_overhead",
    "batch",
    "prompt_cache",
    "economy_cost",
    "authorizer",
    "tool_loop",
    "event_poll",
)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    return (
        f"{os.cpu_count()} CPUs ({cpu_model()}), {platform.machine()}, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


# --- sections ---------------------------------------------------------------------------


def _layer(args: argparse.Namespace) -> list[Row]:
    from bench import layer_size

    return layer_size.rows(layer_size.measure(built=layer_size.build(args.rebuild_layer)))


def _cold_import(args: argparse.Namespace) -> list[Row]:
    from bench import cold_import

    return cold_import.rows(cold_import.run(args.samples))


def _aws_calls(args: argparse.Namespace) -> list[Row]:
    from bench import aws_calls

    return aws_calls.rows(aws_calls.run())


def _handler_overhead(args: argparse.Namespace) -> list[Row]:
    from bench import handler_overhead

    return handler_overhead.rows(handler_overhead.run(args.requests, args.profile_requests))


def _batch(args: argparse.Namespace) -> list[Row]:
    """The worker's batch benchmark (bench/batch_concurrency.py, owned by the worker)."""
    if not (ROOT / "bench" / "batch_concurrency.py").is_file():
        return [
            Row(
                "batch concurrency",
                "wall / (10 x 1 s latency)",
                "not run: bench/batch_concurrency.py does not exist yet",
                "<= 0.15",
                False,
            )
        ]
    module = importlib.import_module("bench.batch_concurrency")
    produce: Callable[[], list[Row]] = module.table_rows
    return produce()


def _prompt_cache(args: argparse.Namespace) -> list[Row]:
    from agents.observability import logger
    from bench import prompt_cache

    logger.setLevel("WARNING")
    result = prompt_cache.run_bench(10)
    return [
        Row(
            "prompt cache",
            f"input cost cached / uncached, {len(result.runs)} flagship runs ({result.model})",
            f"{result.ratio:.3f} (${result.cached_usd:.4f} vs ${result.uncached_usd:.4f})",
            f"<= {prompt_cache.TARGET_RATIO}",
            result.ratio <= prompt_cache.TARGET_RATIO,
        )
    ]


def _economy_cost(args: argparse.Namespace) -> list[Row]:
    from bench import economy_cost

    result = economy_cost.run(50)
    return [
        Row(
            "economy batches",
            f"economy / standard cost, the same {result.items} inputs, one pricing table",
            f"{result.ratio:.3f} (${result.economy_usd:.4f} vs ${result.standard_usd:.4f})",
            f"<= {economy_cost.TARGET_RATIO}",
            result.ratio <= economy_cost.TARGET_RATIO,
        ),
        Row(
            "economy batches",
            "economy with prompt caching / standard",
            f"{result.cached_ratio:.3f} (${result.economy_cached_usd:.4f})",
            f"<= {economy_cost.TARGET_CACHED_RATIO}",
            result.cached_ratio <= economy_cost.TARGET_CACHED_RATIO,
        ),
    ]


def _authorizer(args: argparse.Namespace) -> list[Row]:
    from bench import authorizer

    return authorizer.rows(args.samples)


def _tool_loop(args: argparse.Namespace) -> list[Row]:
    from bench import tool_loop

    return tool_loop.rows(tool_loop.run(runs=20, turns=10))


def _event_poll(args: argparse.Namespace) -> list[Row]:
    from bench import event_poll

    return event_poll.rows(event_poll.run(runs=3, turns=8))


RUNNERS: dict[str, Callable[[argparse.Namespace], list[Row]]] = {
    "layer": _layer,
    "cold_import": _cold_import,
    "aws_calls": _aws_calls,
    "handler_overhead": _handler_overhead,
    "batch": _batch,
    "prompt_cache": _prompt_cache,
    "economy_cost": _economy_cost,
    "authorizer": _authorizer,
    "tool_loop": _tool_loop,
    "event_poll": _event_poll,
}


def run(args: argparse.Namespace) -> tuple[list[Row], dict[str, float]]:
    rows: list[Row] = []
    durations: dict[str, float] = {}
    for name in args.only or SECTIONS:
        print(f"bench: {name} ...", flush=True)
        started = time.monotonic()
        try:
            rows.extend(RUNNERS[name](args))
        except Exception as exc:
            traceback.print_exc()
            rows.append(Row(name, "error", f"{type(exc).__name__}: {exc}"[:300], "runs", False))
        durations[name] = time.monotonic() - started
    return rows, durations


def report(rows: list[Row], durations: dict[str, float]) -> str:
    met = sum(1 for r in rows if r.met is True)
    missed = [r for r in rows if r.met is False]
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"# agent-gateway benchmarks ({when})",
        "",
        f"Machine: {machine()}.",
        "Timings: "
        + ", ".join(f"{k} {v:.0f} s" for k, v in durations.items())
        + f"; total {sum(durations.values()):.0f} s.",
        "",
        render(rows),
        "",
        f"Goals met: {met} of {met + len(missed)}"
        + (f"; missed: {', '.join(r.metric for r in missed)}" if missed else "."),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--samples", type=int, default=5, help="cold-import samples per cell")
    parser.add_argument("--requests", type=int, default=200, help="handler-overhead requests")
    parser.add_argument("--profile-requests", type=int, default=50)
    parser.add_argument("--rebuild-layer", action="store_true")
    parser.add_argument("--only", action="append", choices=SECTIONS)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    rows, durations = run(args)
    text = report(rows, durations)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print()
    print(text)
    print(f"written to {args.output}")
    return 0 if all(r.met is not False for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
