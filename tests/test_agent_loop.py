"""The tool loop against a scripted Messages API: real SDK, real HTTP, real streams."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from agents import errors
from agents.definitions import AgentDefinition, parse_definition
from agents.pricing import estimate_cost
from agents.runner import Deadline, RunBudgets, RunInput, Runner, ToolRunOptions, TurnRecord
from agents.runner.client_tools import ToolCallResult
from agents.types import Usage
from tests.scripted_model import ScriptedModel, message, scripted_model, text, tool_use

__all__ = ["scripted_model"]

FIXER = parse_definition(
    """---
name: fixer
description: Fixes files.
model: sonnet
tools: Read, Glob, Edit
output_schema:
  required_sections:
    - name: "Files Changed"
      pattern: "^## Files Changed"
---
You fix Python files.
"""
)
FINAL = "## Files Changed\n- app.py"


@dataclass
class Plan:
    client_tools: list[str] = field(default_factory=lambda: ["Read", "Glob", "Edit"])
    server_tools: list[dict[str, Any]] = field(default_factory=list)
    mcp_servers: list[dict[str, Any]] = field(default_factory=list)
    betas: list[str] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)

    def tool_definitions(self) -> list[dict[str, Any]]:
        client = [
            {"name": name, "description": name, "input_schema": {"type": "object"}}
            for name in self.client_tools
        ]
        return [*client, *self.server_tools]


class DictToolbox:
    """Read/Glob/Edit over a dict; ``barrier`` makes reads wait for each other."""

    def __init__(self, files: dict[str, str], barrier: threading.Barrier | None = None) -> None:
        self.files = files
        self.barrier = barrier
        self.calls: list[str] = []

    def run(self, name: str, tool_input: Mapping[str, Any]) -> ToolCallResult:
        self.calls.append(name)
        path = str(tool_input.get("file_path", ""))
        if name == "Glob":
            return ToolCallResult("\n".join(sorted(self.files)))
        if name == "Read":
            if self.barrier is not None:
                self.barrier.wait()
            if path not in self.files:
                return ToolCallResult(f"File does not exist: {path}", is_error=True)
            return ToolCallResult(self.files[path])
        if name == "Edit":
            old, new = str(tool_input["old_string"]), str(tool_input["new_string"])
            self.files[path] = self.files[path].replace(old, new)
            return ToolCallResult("edited")
        raise RuntimeError("boom")


def run(
    toolbox: DictToolbox | None = None,
    *,
    plan: Plan | None = None,
    budgets: RunBudgets | None = None,
    definition: AgentDefinition = FIXER,
    seconds: float = 30,
    **hooks: Any,
) -> Any:
    return Runner().run_agent(
        RunInput(definition, "Fix the TODO in app.py", Deadline.after_ms(seconds * 1000)),
        ToolRunOptions(
            plan=plan or Plan(),
            budgets=budgets or RunBudgets(max_turns=25),
            toolbox=toolbox or DictToolbox({"app.py": "x = 1  # TODO\n"}),
            **hooks,
        ),
    )


def _breakpoints(body: dict[str, Any]) -> int:
    return json.dumps(body).count('"cache_control"')


def test_a_tool_run_reads_edits_and_answers(scripted_model: ScriptedModel) -> None:
    toolbox = DictToolbox({"app.py": "x = 1  # TODO\n"})
    scripted_model.script(
        message(tool_use("toolu_1", "Glob", pattern="**/*.py"), stop_reason="tool_use"),
        message(
            text("Reading."),
            tool_use("toolu_2", "Read", file_path="app.py"),
            stop_reason="tool_use",
        ),
        message(
            tool_use(
                "toolu_3", "Edit", file_path="app.py", old_string="# TODO", new_string="# done"
            ),
            stop_reason="tool_use",
        ),
        message(text(FINAL)),
    )
    result = run(toolbox)
    assert result.stop_reason == "end_turn"
    assert not result.incomplete
    assert result.output == FINAL
    assert result.contract.valid
    assert result.turns == 4
    assert result.model_calls == 4
    assert result.tool_calls == {"Glob": 1, "Read": 1, "Edit": 1}
    assert toolbox.files["app.py"] == "x = 1  # done\n"
    assert [turn.turn for turn in result.transcript] == [1, 2, 3, 4]
    assert result.transcript[1].tool_calls[0]["result"] == "x = 1  # TODO\n"
    assert result.usage.input_tokens == 400
    bodies = scripted_model.requests
    # The tool result of turn 2 went back as the newest message of call 3.
    answer = bodies[2]["messages"][-1]
    assert answer["role"] == "user"
    assert answer["content"][0]["tool_use_id"] == "toolu_2"
    assert answer["content"][0]["content"] == "x = 1  # TODO\n"
    for body in bodies:
        # tools + system cached; one breakpoint on the newest message; 4 at most.
        assert body["tools"][-1]["cache_control"] == {"type": "ephemeral"}
        assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
        assert _breakpoints(body) <= 4
        assert "cache_control" in json.dumps(body["messages"][-1])
        assert "cache_control" not in json.dumps(body["messages"][:-1])
    assert "Read, Glob, Edit" in bodies[0]["system"][-1]["text"]


def test_independent_reads_run_concurrently_and_answer_in_order(
    scripted_model: ScriptedModel,
) -> None:
    files = {"a.py": "A", "b.py": "B", "c.py": "C"}
    toolbox = DictToolbox(files, barrier=threading.Barrier(3, timeout=5))
    scripted_model.script(
        message(
            *(tool_use(f"toolu_{p[0]}", "Read", file_path=p) for p in ["c.py", "a.py", "b.py"]),
            stop_reason="tool_use",
        ),
        message(text(FINAL)),
    )
    result = run(toolbox)
    answers = scripted_model.requests[1]["messages"][-1]["content"]
    assert [a["tool_use_id"] for a in answers] == ["toolu_c", "toolu_a", "toolu_b"]
    assert [a["content"] for a in answers] == ["C", "A", "B"]
    assert not any(a.get("is_error") for a in answers)
    assert result.tool_calls == {"Read": 3}


def _five_turns() -> list[dict[str, Any]]:
    return [
        message(
            text(f"step {n}"), tool_use(f"toolu_{n}", "Glob", pattern="*"), stop_reason="tool_use"
        )
        for n in range(4)
    ] + [message(text(FINAL))]


def test_max_turns_stops_after_exactly_that_many_calls(scripted_model: ScriptedModel) -> None:
    scripted_model.script(*_five_turns())
    result = run(budgets=RunBudgets(max_turns=2))
    assert len(scripted_model.requests) == 2
    assert result.stop_reason == "max_turns"
    assert result.incomplete
    assert result.turns == 2
    assert result.output == "step 1"
    assert result.tool_calls == {"Glob": 2}
    assert result.usage.input_tokens == 200


def test_max_tool_calls_stops_before_the_call_over_the_limit(
    scripted_model: ScriptedModel,
) -> None:
    scripted_model.script(*_five_turns())
    toolbox = DictToolbox({})
    result = run(toolbox, budgets=RunBudgets(max_turns=25, max_tool_calls=1))
    assert result.stop_reason == "max_tool_calls"
    assert len(scripted_model.requests) == 2
    assert toolbox.calls == ["Glob"]


def test_max_cost_stops_once_the_cost_so_far_reaches_it(scripted_model: ScriptedModel) -> None:
    scripted_model.script(*_five_turns())
    one_turn = estimate_cost("claude-sonnet-4-5", Usage(input_tokens=100, output_tokens=20))
    result = run(budgets=RunBudgets(max_turns=25, max_cost_usd=one_turn * 1.5))
    assert result.stop_reason == "max_cost"
    assert len(scripted_model.requests) == 2
    assert result.cost_usd >= one_turn * 1.5


def test_pause_turn_is_continued_and_server_tools_are_accounted(
    scripted_model: ScriptedModel,
) -> None:
    search = {
        "type": "server_tool_use",
        "id": "srvtoolu_1",
        "name": "web_search",
        "input": {"query": "python TODO"},
    }
    scripted_model.script(
        message(search, stop_reason="pause_turn", server_tool_use={"web_search_requests": 1}),
        message(text(FINAL), server_tool_use={"web_search_requests": 2}),
    )
    plan = Plan(server_tools=[{"type": "web_search_20250305", "name": "web_search"}])
    result = run(plan=plan)
    assert result.stop_reason == "end_turn"
    assert result.turns == 2
    second = scripted_model.requests[1]["messages"]
    assert second[-1]["role"] == "assistant"
    assert second[-1]["content"][0]["id"] == "srvtoolu_1"
    assert result.tool_calls == {"web_search": 1}
    assert result.usage.server_tool_use == {"web_search_requests": 3}
    tokens = Usage(input_tokens=200, output_tokens=40)
    assert result.cost_usd == pytest.approx(estimate_cost(result.model, tokens) + 0.03)


def test_tool_errors_go_back_as_is_error_and_never_fail_the_run(
    scripted_model: ScriptedModel,
) -> None:
    scripted_model.script(
        message(
            tool_use("toolu_1", "Read", file_path="../../etc/passwd"),
            tool_use("toolu_2", "Glob", pattern="*"),
            tool_use("toolu_3", "Bogus"),
            stop_reason="tool_use",
        ),
        message(text(FINAL)),
    )
    result = run()
    answers = scripted_model.requests[1]["messages"][-1]["content"]
    assert [a.get("is_error", False) for a in answers] == [True, False, True]
    assert "root:" not in json.dumps(answers)
    assert result.stop_reason == "end_turn"
    assert [call["is_error"] for call in result.transcript[0].tool_calls] == [True, False, True]


def test_the_deadline_ends_the_run_with_the_work_so_far(scripted_model: ScriptedModel) -> None:
    class Slow(DictToolbox):
        def run(self, name: str, tool_input: Mapping[str, Any]) -> ToolCallResult:
            time.sleep(1.2)
            return ToolCallResult("slow")

    import anthropic  # noqa: F401  (its first import, ~1 s, must not eat into the deadline)

    scripted_model.script(*_five_turns())
    # 1.5 s kept for the writes (deadline_margin_ms): 2.8 s leaves ~1.3 s for the loop; after
    # turn 1 and its 1.2 s tool call less than MIN_ATTEMPT_S (0.25 s) is left, however fast
    # the machine, so no second turn starts.
    result = run(Slow({}), seconds=2.8)
    assert result.stop_reason == "deadline"
    assert result.output == "step 0"
    assert len(scripted_model.requests) == 1


def test_the_tenant_budget_is_checked_before_each_turn(scripted_model: ScriptedModel) -> None:
    checked: list[int] = []
    spent: list[tuple[int, float]] = []

    def before(turn: int) -> None:
        checked.append(turn)
        if turn == 3:
            raise errors.GatewayError("over the cap")

    def after(record: TurnRecord, cost: float) -> None:
        spent.append((record.turn, cost))

    scripted_model.script(*_five_turns())
    result = run(before_turn=before, after_turn=after)
    assert checked == [1, 2, 3]
    assert result.stop_reason == "max_cost"
    assert len(scripted_model.requests) == 2
    assert [turn for turn, _ in spent] == [1, 2]
    assert sum(cost for _, cost in spent) == pytest.approx(result.cost_usd)


def test_a_tenant_over_its_cap_before_the_first_turn_gets_no_model_call(
    scripted_model: ScriptedModel,
) -> None:
    def before(turn: int) -> None:
        raise errors.GatewayError("over the cap")

    with pytest.raises(errors.GatewayError):
        run(before_turn=before)
    assert scripted_model.requests == []


def test_a_final_answer_missing_its_contract_gets_one_repair_turn(
    scripted_model: ScriptedModel,
) -> None:
    scripted_model.script(message(text("I fixed it.")), message(text(FINAL)))
    result = run()
    assert result.repaired
    assert result.output == FINAL
    assert result.contract.valid
    assert result.turns == 2
    repair = scripted_model.requests[1]["messages"]
    assert repair[-2] == {"role": "assistant", "content": [{"type": "text", "text": "I fixed it."}]}


def test_betas_send_the_run_through_the_beta_endpoint(scripted_model: ScriptedModel) -> None:
    scripted_model.script(message(text(FINAL)))
    run(plan=Plan(betas=["mcp-client-2025-04-04"]))
    assert "mcp-client-2025-04-04" in scripted_model.last_headers()["anthropic-beta"]
    assert "betas" not in scripted_model.requests[0]
