"""The offline model drives a tool loop: the real SDK over HTTP, a small in-test tool runner.

The runner below follows Claude Code's output formats (Glob: ``/workspace/<path>``
lines; Read: ``cat -n`` lines; Edit: ``old_string`` must be unique) so the
policy is exercised the way the gateway's tools will answer it.
"""

from __future__ import annotations

import difflib
import itertools
import re
import subprocess
from pathlib import Path
from typing import Any

import anthropic
import pytest

from agents.contracts import OutputContract
from agents.prompting import build_contract_instruction
from local.dev_info import TOOL_DEMO_FILES, TOOL_DEMO_INPUT
from tests.plugins.model import FakeModel

MODEL = "claude-sonnet-4-6"
ROOT = "/workspace/"
LONG_SYSTEM = "You fix Python code carefully. " * 400  # above the 1024-token cache floor
FILES = {
    "README.md": "# Demo\n\nA tiny package.\n",
    "src/app.py": (
        "def total(items):\n    # TODO: handle an empty list\n    return sum(items) / len(items)\n"
    ),
    "src/util.py": "def helper():\n    return 1\n\n\ndef helper():\n    return 1\n",
}
TASK = "Fix the average in total so it does not crash on an empty list (app.py)."


def _tool(name: str, *required: str) -> dict[str, Any]:
    properties = {field: {"type": "string"} for field in required}
    return {
        "name": name,
        "description": f"{name} (test)",
        "input_schema": {"type": "object", "properties": properties, "required": list(required)},
    }


CLIENT_TOOLS = {
    "Glob": _tool("Glob", "pattern"),
    "Read": _tool("Read", "file_path"),
    "Grep": _tool("Grep", "pattern"),
    "Edit": _tool("Edit", "file_path", "old_string", "new_string"),
    "Write": _tool("Write", "file_path", "content"),
}


#: What a code-editing definition offers: the policy's whole read-search-edit path.
EDITING_TOOLS = ("Read", "Grep", "Glob", "Edit")


def tools_named(*names: str) -> list[dict[str, Any]]:
    """The :data:`CLIENT_TOOLS` definitions of ``names``, in that order."""
    return [CLIENT_TOOLS[name] for name in names]


class MiniTools:
    """Glob/Read/Grep/Edit/Write over a dict of files, answering like Claude Code's tools."""

    def __init__(self, files: dict[str, str], *, failing_reads: frozenset[str] = frozenset()):
        self.files = dict(files)
        self.failing_reads = failing_reads

    def run(self, name: str, args: dict[str, Any]) -> tuple[str, bool]:
        path = str(args.get("file_path", "")).removeprefix(ROOT)
        if name == "Glob":
            return "\n".join(ROOT + p for p in sorted(self.files)) or "No files found", False
        if name == "Read":
            if path not in self.files or path in self.failing_reads:
                return f"File does not exist: {args.get('file_path')}", True
            lines = self.files[path].splitlines()
            return "\n".join(f"{n:>6}\t{line}" for n, line in enumerate(lines, 1)), False
        if name == "Grep":
            hits = [
                f"{ROOT}{p}:{n}:{line}"
                for p, text in sorted(self.files.items())
                for n, line in enumerate(text.splitlines(), 1)
                if re.search(str(args["pattern"]), line)
            ]
            return "\n".join(hits) or "No matches found", False
        if name == "Edit":
            content = self.files.get(path, "")
            if content.count(str(args["old_string"])) != 1:
                return "old_string is not unique in the file", True
            self.files[path] = content.replace(args["old_string"], args["new_string"])
            return f"The file {ROOT}{path} has been updated.", False
        if name == "Write":
            self.files[path] = str(args["content"])
            return f"File created successfully at: {ROOT}{path}", False
        return f"unknown tool {name}", True


@pytest.fixture
def client(fake_model_sdk: anthropic.Anthropic) -> anthropic.Anthropic:
    return fake_model_sdk


def _ask(client: anthropic.Anthropic, params: dict[str, Any], stream: bool) -> Any:
    if stream:
        with client.messages.stream(**params) as events:
            return events.get_final_message()
    return client.messages.create(**params)


def run_loop(
    client: anthropic.Anthropic,
    tools: MiniTools,
    *,
    offered: list[dict[str, Any]],
    stream: bool = False,
    system: list[dict[str, Any]] | None = None,
    max_turns: int = 12,
    task: str = TASK,
) -> list[Any]:
    """Run the loop to the final answer, moving a cache breakpoint to the newest message."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": [{"type": "text", "text": TASK}]}]
    replies = []
    for _ in range(max_turns):
        for message in messages:  # one breakpoint: on the newest message's last block
            for block in message["content"]:
                block.pop("cache_control", None)
        messages[-1]["content"][-1]["cache_control"] = {"type": "ephemeral"}
        params: dict[str, Any] = {
            "model": MODEL,
            "max_tokens": 4000,
            "tools": offered,
            "messages": messages,
        }
        if system is not None:
            params["system"] = system
        reply = _ask(client, params, stream)
        replies.append(reply)
        content = [block.model_dump(exclude_none=True) for block in reply.content]
        messages.append({"role": "assistant", "content": content})
        if reply.stop_reason == "pause_turn":
            continue
        if reply.stop_reason != "tool_use":
            return replies
        results = []
        for block in reply.content:
            if block.type == "tool_use":
                text, is_error = tools.run(block.name, dict(block.input))
                results.append(
                    {
                        "type": "tool_result",
                        "tool_use_id": block.id,
                        "content": text,
                        "is_error": is_error,
                    }
                )
        messages.append({"role": "user", "content": results})
    raise AssertionError("the offline model did not finish")


def _calls(replies: list[Any]) -> list[list[str]]:
    return [[b.name for b in r.content if b.type == "tool_use"] for r in replies]


def _final_text(replies: list[Any]) -> str:
    return "".join(b.text for b in replies[-1].content if b.type == "text")


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_policy_globs_reads_greps_edits_then_answers(
    client: anthropic.Anthropic, stream: bool
) -> None:
    tools = MiniTools(FILES)
    replies = run_loop(client, tools, offered=tools_named(*EDITING_TOOLS), stream=stream)

    assert _calls(replies) == [["Glob"], ["Read", "Read", "Read"], ["Grep"], ["Edit"], []]
    assert [r.stop_reason for r in replies] == ["tool_use"] * 4 + ["end_turn"]
    reads = [b.input["file_path"] for b in replies[1].content if b.type == "tool_use"]
    assert reads[0] == ROOT + "src/app.py"  # the file the task names comes first
    ids = [b.id for r in replies for b in r.content if b.type == "tool_use"]
    assert all(i.startswith("toolu_") for i in ids)
    assert len(set(ids)) == len(ids)
    grep = next(b for b in replies[2].content if b.type == "tool_use")
    assert grep.input["pattern"] == "total"  # a word of the task found in the files read

    # The Edit fixed the TODO line in place: the note follows it, nothing else changed.
    assert tools.files["src/app.py"].startswith(
        "def total(items):\n    # TODO: handle an empty list\n    # Offline model:"
    )
    assert tools.files["src/app.py"].endswith("    return sum(items) / len(items)\n")
    assert {p: t for p, t in tools.files.items() if p != "src/app.py"} == {
        p: t for p, t in FILES.items() if p != "src/app.py"
    }
    final = _final_text(replies)
    assert "## Files Changed\n\n- `src/app.py`" in final


def test_streamed_and_plain_loops_make_the_same_calls(client: anthropic.Anthropic) -> None:
    offered = list(CLIENT_TOOLS.values())
    plain, streamed = MiniTools(FILES), MiniTools(FILES)
    plain_replies = run_loop(client, plain, offered=offered)
    streamed_replies = run_loop(client, streamed, offered=offered, stream=True)
    assert [[b.model_dump() for b in r.content] for r in plain_replies[:-1]] == [
        [b.model_dump() for b in r.content] for r in streamed_replies[:-1]
    ]
    assert plain.files == streamed.files


def test_a_file_without_todo_gets_a_note_after_its_last_unique_line(
    client: anthropic.Anthropic,
) -> None:
    files = {"lib/calc.py": "import math\n\n\ndef area(r):\n    return math.pi * r * r\n"}
    tools = MiniTools(files)
    replies = run_loop(client, tools, offered=tools_named("Glob", "Read", "Edit"))
    assert _calls(replies) == [["Glob"], ["Read"], ["Edit"], []]
    assert tools.files["lib/calc.py"] == (
        "import math\n\n\ndef area(r):\n    return math.pi * r * r\n"
        "    # Reviewed by the offline model (agent-gateway's fake Messages API).\n"
    )
    assert "- `lib/calc.py`" in _final_text(replies)


def test_without_edit_it_writes_a_notes_file(client: anthropic.Anthropic) -> None:
    tools = MiniTools(FILES)
    offered = tools_named("Glob", "Read", "Write")
    replies = run_loop(client, tools, offered=offered)
    assert _calls(replies) == [["Glob"], ["Read", "Read", "Read"], ["Write"], []]
    assert "OFFLINE" in tools.files["OFFLINE_MODEL_NOTES.md"]
    assert "- `OFFLINE_MODEL_NOTES.md`" in _final_text(replies)


def test_tool_errors_do_not_stop_the_run(client: anthropic.Anthropic) -> None:
    tools = MiniTools(FILES, failing_reads=frozenset({"src/app.py"}))
    replies = run_loop(client, tools, offered=tools_named("Glob", "Read", "Edit"))
    edit = next(b for b in replies[2].content if b.type == "tool_use")
    assert edit.input["file_path"] != ROOT + "src/app.py"  # it edits a file it could Read
    assert tools.files["src/app.py"] == FILES["src/app.py"]
    assert replies[-1].stop_reason == "end_turn"


def test_read_only_tools_answer_without_a_files_changed_section(
    client: anthropic.Anthropic,
) -> None:
    tools = MiniTools(FILES)
    replies = run_loop(client, tools, offered=tools_named("Glob", "Read"))
    assert _calls(replies) == [["Glob"], ["Read", "Read", "Read"], []]
    assert "Files Changed" not in _final_text(replies)
    assert tools.files == FILES


def test_no_files_in_the_workspace_means_nothing_changed(client: anthropic.Anthropic) -> None:
    replies = run_loop(client, MiniTools({}), offered=list(CLIENT_TOOLS.values()))
    assert _calls(replies)[0] == ["Glob"]
    assert "## Files Changed\n\nNone" in _final_text(replies)


def test_final_answer_fulfils_a_contract_naming_files_changed(
    client: anthropic.Anthropic,
) -> None:
    contract = OutputContract.model_validate(
        {
            "required_sections": [
                {"name": "Summary", "pattern": "^## Summary"},
                {"name": "Files Changed", "pattern": "^## Files Changed"},
                {"name": "Testing", "pattern": "^## Testing"},
            ]
        }
    )
    instruction = build_contract_instruction(contract, TASK)
    assert instruction is not None
    system = [{"type": "text", "text": "You fix code."}, {"type": "text", "text": instruction}]
    tools = MiniTools(FILES)
    replies = run_loop(client, tools, offered=tools_named("Glob", "Read", "Edit"), system=system)
    final = _final_text(replies)
    assert contract.check(final, TASK).valid
    assert final.count("## Files Changed") == 1
    assert final.index("## Summary") < final.index("## Files Changed") < final.index("## Testing")
    assert "- `src/app.py`" in final


def test_usage_reads_the_previous_turns_prefix_from_the_cache(
    client: anthropic.Anthropic,
) -> None:
    system = [{"type": "text", "text": LONG_SYSTEM, "cache_control": {"type": "ephemeral"}}]
    replies = run_loop(client, MiniTools(FILES), offered=list(CLIENT_TOOLS.values()), system=system)
    usages = [r.usage for r in replies]
    assert usages[0].cache_read_input_tokens == 0
    assert usages[0].cache_creation_input_tokens > 1024
    for before, after in itertools.pairwise(usages):
        # The moving breakpoint finds the entry the previous turn wrote at its breakpoint.
        prefix = before.cache_read_input_tokens + before.cache_creation_input_tokens
        assert after.cache_read_input_tokens == prefix
        assert 0 < after.cache_creation_input_tokens < prefix


def test_request_log_shows_the_tools_offered(
    client: anthropic.Anthropic, fake_model: FakeModel
) -> None:
    offered = [CLIENT_TOOLS["Glob"], {"type": "web_search_20250305", "name": "web_search"}]
    params = {"model": MODEL, "max_tokens": 500, "tools": offered}
    _ask(client, params | {"messages": [{"role": "user", "content": "x"}]}, stream=False)
    body = fake_model.requests(limit=1)[0]["body"]
    assert [tool["name"] for tool in body["tools"]] == ["Glob", "web_search"]


def test_tool_choice_none_answers_at_once(client: anthropic.Anthropic) -> None:
    params = {
        "model": MODEL,
        "max_tokens": 2000,
        "tools": list(CLIENT_TOOLS.values()),
        "tool_choice": {"type": "none"},
        "messages": [{"role": "user", "content": TASK}],
    }
    reply = _ask(client, params, stream=False)
    assert reply.stop_reason == "end_turn"
    assert [b.type for b in reply.content] == ["text"]


# --- server tools ------------------------------------------------------------------------

WEB_TOOLS = [
    {"type": "web_search_20250305", "name": "web_search", "max_uses": 5},
    {"type": "web_fetch_20250910", "name": "web_fetch", "max_uses": 5},
]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_web_search_then_pause_then_web_fetch_then_the_answer(
    client: anthropic.Anthropic, stream: bool
) -> None:
    task = "Summarise https://docs.example.invalid/page for me"
    messages: list[dict[str, Any]] = [{"role": "user", "content": task}]
    params = {"model": MODEL, "max_tokens": 4000, "tools": WEB_TOOLS, "messages": messages}
    first = _ask(client, params, stream)
    assert first.stop_reason == "pause_turn"
    assert [b.type for b in first.content] == ["server_tool_use", "web_search_tool_result"]
    assert first.content[0].name == "web_search"
    assert first.content[0].id.startswith("srvtoolu_")
    assert first.content[1].tool_use_id == first.content[0].id
    assert all("OFFLINE" in result.title for result in first.content[1].content)
    assert first.usage.server_tool_use.web_search_requests == 1
    assert first.usage.server_tool_use.web_fetch_requests == 0

    messages.append(
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]}
    )
    second = _ask(client, params, stream)
    assert second.stop_reason == "end_turn"
    assert [b.type for b in second.content] == [
        "server_tool_use",
        "web_fetch_tool_result",
        "text",
    ]
    assert second.content[0].input == {"url": "https://docs.example.invalid/page"}
    fetched = second.content[1].content
    assert fetched.url == "https://docs.example.invalid/page"
    assert fetched.content.source.data.startswith("OFFLINE")
    assert second.usage.server_tool_use.web_fetch_requests == 1
    assert second.content[2].text.startswith("> Offline model")


@pytest.mark.parametrize(
    ("tool_type", "result_type"),
    [
        ("code_execution_20250825", "bash_code_execution_tool_result"),
        ("code_execution_20250522", "code_execution_tool_result"),
    ],
)
def test_code_execution_says_honestly_it_did_not_run(
    client: anthropic.Anthropic, tool_type: str, result_type: str
) -> None:
    params = {
        "model": MODEL,
        "max_tokens": 4000,
        "tools": [{"type": tool_type, "name": "code_execution"}],
        "messages": [{"role": "user", "content": "run the tests"}],
    }
    reply = _ask(client, params, stream=False)
    assert reply.stop_reason == "end_turn"
    assert [b.type for b in reply.content] == ["server_tool_use", result_type, "text"]
    outcome = reply.content[1].content
    assert outcome.stderr.startswith("offline: not executed")
    assert outcome.return_code != 0
    assert reply.usage.server_tool_use.web_search_requests == 0


def test_server_and_client_tools_in_one_response(client: anthropic.Anthropic) -> None:
    params = {
        "model": MODEL,
        "max_tokens": 4000,
        "tools": [WEB_TOOLS[0], CLIENT_TOOLS["Glob"]],
        "messages": [{"role": "user", "content": TASK}],
    }
    reply = _ask(client, params, stream=False)
    assert reply.stop_reason == "tool_use"
    assert [b.type for b in reply.content] == [
        "server_tool_use",
        "web_search_tool_result",
        "tool_use",
    ]


def test_the_dev_demo_workspace_gets_an_edit_that_git_apply_accepts(
    client: anthropic.Anthropic, tmp_path: Path
) -> None:
    tools = MiniTools(TOOL_DEMO_FILES)
    replies = run_loop(client, tools, offered=tools_named(*EDITING_TOOLS), task=TOOL_DEMO_INPUT)
    assert _calls(replies)[-2:] == [["Edit"], []]
    assert "- `stats.py`" in _final_text(replies)
    compile(tools.files["stats.py"], "stats.py", "exec")  # still valid Python
    for path, text in TOOL_DEMO_FILES.items():
        (tmp_path / path).write_text(text)
    patch = "".join(
        difflib.unified_diff(
            TOOL_DEMO_FILES["stats.py"].splitlines(keepends=True),
            tools.files["stats.py"].splitlines(keepends=True),
            "a/stats.py",
            "b/stats.py",
        )
    )
    (tmp_path / "fix.patch").write_text(patch)
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "apply", "--check", "fix.patch"], cwd=tmp_path, check=True)
