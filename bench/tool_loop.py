"""The tool loop: gateway CPU and AWS calls per turn, and a 10-turn run's input cost with caching.

python-fixer runs with files through ``handlers.api.handler`` (sync) on moto's in-process AWS;
the fake Messages API runs in a child process (its CPU is not ours) and answers a scripted
N-turn tool run (``POST /_fake/script``: Glob, Reads and Greps, one Edit, then the answer),
with usage computed by its prompt-cache emulation. Per run: ``time.process_time()`` minus the
CPU moto spends answering (as :mod:`bench.handler_overhead` does), and the AWS operations
the project's clients made, each divided by the run's turns; medians over the runs.

The cost row prices the summed usage of one 10-turn run with :mod:`agents.pricing`: as billed
(cache writes and reads) against the very same tokens as plain input (as
:mod:`bench.prompt_cache` does for single calls).

    python -m bench.tool_loop [--runs 20] [--turns 10]
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.handler_overhead import MotoCpu, fake_model_process, in_process_stack
from bench.harness import ApiCaller, CallCounter
from bench.table import Row, median, render
from local.dev_info import TOOL_DEMO_FILES, TOOL_DEMO_INPUT

AGENT = "python-fixer"  # local.dev_info.TOOL_DEMO_AGENT
#: The demo's files and task (``make dev``): the Edit below fixes the TODO in stats.py.
FILES = TOOL_DEMO_FILES
TASK = TOOL_DEMO_INPUT
ANSWER = (
    "## Summary\nmean() now returns 0.0 for an empty list.\n\n"
    "## Files Changed\n- `stats.py`: guard the empty list.\n\n"
    "## Verification\npytest -q\n"
)
#: Goals (issue 14): gateway CPU per turn, AWS calls per turn, cached/uncached input cost.
MAX_CPU_MS_PER_TURN = 15.0
MAX_AWS_CALLS_PER_TURN = 3.0
MAX_COST_RATIO = 0.30


def _tool_use(turn: int, name: str, **tool_input: Any) -> dict[str, Any]:
    block = {"type": "tool_use", "id": f"toolu_bench{turn:03d}", "name": name, "input": tool_input}
    return {"content": [block], "stop_reason": "tool_use"}


def script(turns: int) -> list[dict[str, Any]]:
    """``turns`` responses: Glob, Reads/Greps, an Edit, then the final answer (``turns >= 3``)."""
    if turns < 3:
        raise ValueError("a scripted tool run needs at least 3 turns (Glob, Edit, answer)")
    responses = [_tool_use(1, "Glob", pattern="**/*.py")]
    for turn in range(2, turns - 1):
        if turn % 2:
            responses.append(_tool_use(turn, "Grep", pattern="mean", path="/workspace"))
        else:
            path = "/workspace/stats.py" if turn % 4 else "/workspace/test_stats.py"
            responses.append(_tool_use(turn, "Read", file_path=path))
    if turns == 3:  # no Read yet: Edit needs one
        responses[0] = _tool_use(1, "Read", file_path="/workspace/stats.py")
    responses.append(
        _tool_use(
            turns - 1,
            "Edit",
            file_path="/workspace/stats.py",
            old_string="    # TODO: an empty list raises ZeroDivisionError\n",
            new_string="    if not values:\n        return 0.0\n",
        )
    )
    responses.append({"content": [{"type": "text", "text": ANSWER}], "stop_reason": "end_turn"})
    return responses


@dataclass
class ToolRun:
    turns: int
    cpu_ms: float
    moto_ms: float
    aws_calls: list[str]
    usage: dict[str, Any]
    cost_usd: float
    #: Of ``aws_calls``, those on the event log's table (issue 16: one write per turn).
    event_log_calls: int = 0

    @property
    def own_ms_per_turn(self) -> float:
        return (self.cpu_ms - self.moto_ms) / self.turns

    @property
    def aws_calls_per_turn(self) -> float:
        """Without the event log's writes (the goal of issue 14 predates the log)."""
        return (len(self.aws_calls) - self.event_log_calls) / self.turns


@dataclass
class ToolLoopResult:
    turns: int
    runs: list[ToolRun] = field(default_factory=list)
    model: str = ""

    def cost_ratio(self) -> tuple[float, float, float]:
        """(cached USD, uncached USD, ratio) of the input side of the first measured run."""
        from agents.config import Settings
        from agents.types import Usage
        from bench.prompt_cache import input_costs

        usage = Usage.model_validate(self.runs[0].usage)
        cached, uncached = input_costs(self.model, usage, Settings.from_env())
        return cached, uncached, (cached / uncached if uncached else 0.0)


def _queue_script(fake: httpx.Client, turns: int) -> None:
    fake.delete("/_fake/script").raise_for_status()
    fake.post("/_fake/script", json={"responses": script(turns)}).raise_for_status()


def _invoke(caller: ApiCaller, turns: int) -> dict[str, Any]:
    answer = caller("POST", f"/agents/{AGENT}/invocations", {"input": TASK, "files": FILES})
    view: Any = answer.body
    if answer.status != 200 or view.get("status") != "SUCCEEDED" or view.get("turns") != turns:
        raise RuntimeError(f"the scripted tool run answered {answer.status}: {str(view)[:500]}")
    result: dict[str, Any] = view
    return result


def run(runs: int = 20, turns: int = 10) -> ToolLoopResult:
    """``runs`` scripted ``turns``-turn tool runs after two warm-up runs."""

    result = ToolLoopResult(turns)
    with (
        fake_model_process() as model_url,
        httpx.Client(base_url=model_url, timeout=10) as fake,
        in_process_stack(model_url) as caller,
    ):
        for _ in range(2):  # warm: clients, the definition cache, the runner, the tools
            _queue_script(fake, turns)
            _invoke(caller, turns)
        counter = CallCounter()
        with MotoCpu() as moto:
            for _ in range(runs):
                _queue_script(fake, turns)  # the bench's own HTTP, outside the measurement
                moto_before = moto.seconds
                with counter.measure():
                    start = time.process_time()
                    view = _invoke(caller, turns)
                    cpu_ms = (time.process_time() - start) * 1000
                result.model = str(view["model"])
                result.runs.append(
                    ToolRun(
                        turns=int(view["turns"]),
                        cpu_ms=cpu_ms,
                        moto_ms=(moto.seconds - moto_before) * 1000,
                        aws_calls=list(counter.calls),
                        usage=dict(view["usage"]),
                        cost_usd=float(view["cost_usd"]),
                        event_log_calls=counter.tables.count(os.environ.get("EVENTS_TABLE", "-")),
                    )
                )
    return result


def rows(result: ToolLoopResult) -> list[Row]:
    cpu = median([run.own_ms_per_turn for run in result.runs])
    calls = median([run.aws_calls_per_turn for run in result.runs])
    cached, uncached, ratio = result.cost_ratio()
    first = result.runs[0]
    ops = CallCounter(calls=list(first.aws_calls)).summary()
    name, n = "tool loop", len(result.runs)
    return [
        Row(
            name,
            f"gateway CPU per turn excl. model and moto, {result.turns}-turn run (median)",
            f"{cpu:.2f} ms (n={n} runs)",
            f"<= {MAX_CPU_MS_PER_TURN:g} ms",
            cpu <= MAX_CPU_MS_PER_TURN,
        ),
        Row(
            name,
            f"AWS calls per turn excl. the event log, {result.turns}-turn run (median)",
            f"{calls:.2f} ({len(first.aws_calls) - first.event_log_calls} per run; all: {ops})",
            f"<= {MAX_AWS_CALLS_PER_TURN:g}",
            calls <= MAX_AWS_CALLS_PER_TURN,
        ),
        Row(
            name,
            f"event-log writes, {result.turns}-turn run (issue 16)",
            f"{first.event_log_calls} per run: {result.turns + 1} for the turns, the rest "
            "one per status change",
            f"<= {result.turns + 1} + status changes",
            first.event_log_calls <= result.turns + 1 + 3,
        ),
        Row(
            name,
            f"input cost cached / uncached, one {result.turns}-turn run ({result.model})",
            f"{ratio:.3f} (${cached:.4f} vs ${uncached:.4f})",
            f"<= {MAX_COST_RATIO}",
            ratio <= MAX_COST_RATIO,
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tool_loop", description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--turns", type=int, default=10)
    args = parser.parse_args(argv)
    table = rows(run(args.runs, args.turns))
    print(render(table, title="tool loop (scripted run, zero-latency model in a child process)"))
    return 0 if all(r.met is not False for r in table) else 1


if __name__ == "__main__":
    raise SystemExit(main())
