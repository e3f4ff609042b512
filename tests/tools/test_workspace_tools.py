"""The workspace tools behave as Claude Code's: schemas, outputs, Edit's rules."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from agents.tools import CLIENT_TOOL_NAMES, ToolResult, ToolSession, client_tool, run_client_tool
from agents.tools.read import MAX_READ_BYTES
from tests.tools.fake_workspace import FakeWorkspace

APP = "import os\n# TODO: handle errors\nprint('hello')\n"


@pytest.fixture
def ws() -> FakeWorkspace:
    return FakeWorkspace(
        {
            "src/app.py": APP,
            "src/util/helpers.py": "def helper():\n    return 42\n",
            "README.md": "# Demo\nhello world\n",
            "logo.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR",
        }
    )


@pytest.fixture
def session() -> ToolSession:
    return ToolSession()


def call(ws: FakeWorkspace, session: ToolSession, name: str, **tool_input: Any) -> ToolResult:
    return run_client_tool(client_tool(name), ws, tool_input, session)


def test_definitions_use_claude_codes_names_and_input_schemas() -> None:
    assert CLIENT_TOOL_NAMES == ("Read", "Glob", "Grep", "LS", "Write", "Edit", "MultiEdit")
    schemas = {n: client_tool(n).definition()["input_schema"] for n in CLIENT_TOOL_NAMES}
    fields = {n: (set(s["properties"]), s["required"]) for n, s in schemas.items()}
    assert fields == {
        "Read": ({"file_path", "offset", "limit"}, ["file_path"]),
        "Glob": ({"pattern", "path"}, ["pattern"]),
        "Grep": (
            {"pattern", "path", "glob", "type", "output_mode", "-A", "-B", "-C", "-n", "-i",
             "head_limit", "multiline"},
            ["pattern"],
        ),
        "LS": ({"path", "ignore"}, ["path"]),
        "Write": ({"file_path", "content"}, ["file_path", "content"]),
        "Edit": ({"file_path", "old_string", "new_string", "replace_all"},
                 ["file_path", "old_string", "new_string"]),
        "MultiEdit": ({"file_path", "edits"}, ["file_path", "edits"]),
    }  # fmt: skip
    assert schemas["Grep"]["properties"]["output_mode"]["enum"] == [
        "content",
        "files_with_matches",
        "count",
    ]
    edit_item = schemas["MultiEdit"]["properties"]["edits"]["items"]
    assert set(edit_item["properties"]) == {"old_string", "new_string", "replace_all"}
    for schema in schemas.values():
        assert schema["type"] == "object"
        assert schema["additionalProperties"] is False


def test_read_numbers_lines_like_cat_n(ws: FakeWorkspace, session: ToolSession) -> None:
    result = call(ws, session, "Read", file_path="/workspace/src/app.py")
    assert not result.is_error
    assert result.content.splitlines() == [
        "     1\timport os",
        "     2\t# TODO: handle errors",
        "     3\tprint('hello')",
    ]
    part = call(ws, session, "Read", file_path="src/app.py", offset=2, limit=1)
    assert part.content == "     2\t# TODO: handle errors"


def test_read_truncates_long_lines_and_caps_size(session: ToolSession) -> None:
    ws = FakeWorkspace({"long.txt": "x" * 5000 + "\n", "big.txt": "line\n" * (MAX_READ_BYTES // 4)})
    line = call(ws, session, "Read", file_path="long.txt").content
    assert len(line) < 2100
    assert "truncated" in line
    big = call(ws, session, "Read", file_path="big.txt")
    assert big.is_error
    assert "exceeds maximum allowed size" in big.content
    assert not session.was_read("big.txt")
    assert call(ws, session, "Read", file_path="big.txt", offset=10, limit=5).content.startswith(
        "    10\tline"
    )


def test_binary_files_are_listed_but_not_read(ws: FakeWorkspace, session: ToolSession) -> None:
    assert "/workspace/logo.png" in call(ws, session, "Glob", pattern="*").content
    assert "logo.png" in call(ws, session, "LS", path="/workspace").content
    result = call(ws, session, "Read", file_path="logo.png")
    assert result.is_error
    assert "binary" in result.content
    assert "PNG" not in result.content
    assert "logo" not in call(ws, session, "Grep", pattern="PNG").content


def test_read_of_missing_file_and_directory(ws: FakeWorkspace, session: ToolSession) -> None:
    assert call(ws, session, "Read", file_path="nope.py").content.startswith("File does not exist")
    assert "directory" in call(ws, session, "Read", file_path="src").content


def test_glob_patterns(ws: FakeWorkspace, session: ToolSession) -> None:
    assert call(ws, session, "Glob", pattern="**/*.py").content.splitlines() == [
        "/workspace/src/app.py",
        "/workspace/src/util/helpers.py",
    ]
    assert call(ws, session, "Glob", pattern="*.py", path="/workspace/src").content == (
        "/workspace/src/app.py"
    )
    assert call(ws, session, "Glob", pattern="*.{md,png}").content.splitlines() == [
        "/workspace/README.md",
        "/workspace/logo.png",
    ]
    assert call(ws, session, "Glob", pattern="/workspace/src/**/*.py").content.count("\n") == 1
    assert call(ws, session, "Glob", pattern="*.rs").content == "No files found"


def test_glob_lists_files_written_in_the_session_last(
    ws: FakeWorkspace, session: ToolSession
) -> None:
    call(ws, session, "Write", file_path="a_new.py", content="x = 1\n")
    listed = call(ws, session, "Glob", pattern="**/*.py").content.splitlines()
    assert listed[-1] == "/workspace/a_new.py"


def test_grep_output_modes(ws: FakeWorkspace, session: ToolSession) -> None:
    files = call(ws, session, "Grep", pattern="hello")
    assert files.content.splitlines() == [
        "Found 2 files",
        "/workspace/README.md",
        "/workspace/src/app.py",
    ]
    count = call(ws, session, "Grep", pattern="e", output_mode="count", glob="*.py")
    assert count.content.splitlines() == [
        "/workspace/src/app.py:2",
        "/workspace/src/util/helpers.py:2",
        "",
        "Found 4 total occurrences across 2 files.",
    ]
    content = call(
        ws, session, "Grep", pattern="todo", output_mode="content", **{"-i": True, "-n": True}
    )
    assert content.content == "/workspace/src/app.py:2:# TODO: handle errors"
    context = call(
        ws, session, "Grep", pattern="TODO", path="src/app.py", output_mode="content",
        **{"-n": True, "-C": 1},
    )  # fmt: skip
    assert context.content.splitlines() == [
        "1-import os",
        "2:# TODO: handle errors",
        "3-print('hello')",
    ]
    typed = call(ws, session, "Grep", pattern="def", type="py")
    assert typed.content.endswith("/workspace/src/util/helpers.py")
    assert call(ws, session, "Grep", pattern="hello", head_limit=1).content.count("/workspace") == 1
    assert call(ws, session, "Grep", pattern="zzz", output_mode="content").content == (
        "No matches found"
    )


def test_grep_multiline_and_bad_patterns(ws: FakeWorkspace, session: ToolSession) -> None:
    spanning = call(ws, session, "Grep", pattern=r"os.#", multiline=True, output_mode="count")
    assert spanning.content.startswith("/workspace/src/app.py:1")
    assert "No files" in call(ws, session, "Grep", pattern=r"os.#").content
    for pattern in ("(a+)+$", "(x*)*y", "[unclosed", "a" * 2000):
        result = call(ws, session, "Grep", pattern=pattern)
        assert result.is_error, pattern
    assert call(ws, session, "Grep", pattern="x", type="cobol").is_error


def test_ls_tree_with_ignore(ws: FakeWorkspace, session: ToolSession) -> None:
    tree = call(ws, session, "LS", path="/workspace", ignore=["util"])
    assert tree.content.splitlines() == [
        "- /workspace/",
        "  - README.md",
        "  - logo.png",
        "  - src/",
        "    - app.py",
    ]
    assert call(ws, session, "LS", path="src/app.py").is_error


def test_edit_requires_read_unique_match_and_a_change(
    ws: FakeWorkspace, session: ToolSession
) -> None:
    edit = {"file_path": "src/app.py", "old_string": "# TODO: handle errors", "new_string": "# ok"}
    unread = call(ws, session, "Edit", **edit)
    assert unread.is_error
    assert "Read" in unread.content
    assert ws.text("src/app.py") == APP
    call(ws, session, "Read", file_path="src/app.py")
    same = call(ws, session, "Edit", **{**edit, "new_string": edit["old_string"]})
    assert same.is_error
    assert "No changes to make" in same.content
    many = call(ws, session, "Edit", file_path="src/app.py", old_string="o", new_string="0")
    assert many.is_error
    assert "Found" in many.content
    assert "replace_all is false" in many.content
    missing = call(ws, session, "Edit", file_path="src/app.py", old_string="nope", new_string="x")
    assert missing.is_error
    assert "not found" in missing.content
    done = call(ws, session, "Edit", **edit)
    assert not done.is_error
    assert "     2\t# ok" in done.content
    assert ws.text("src/app.py") == APP.replace("# TODO: handle errors", "# ok")
    every = call(
        ws, session, "Edit", file_path="src/app.py", old_string="o", new_string="0",
        replace_all=True,
    )  # fmt: skip
    assert not every.is_error
    assert "o" not in ws.text("src/app.py")


def test_edit_with_empty_old_string_creates_a_file(ws: FakeWorkspace, session: ToolSession) -> None:
    created = call(ws, session, "Edit", file_path="new.txt", old_string="", new_string="hi\n")
    assert not created.is_error
    assert ws.text("new.txt") == "hi\n"
    again = call(ws, session, "Edit", file_path="new.txt", old_string="", new_string="x")
    assert again.is_error
    assert "already exists" in again.content


def test_multiedit_is_all_or_nothing(ws: FakeWorkspace, session: ToolSession) -> None:
    call(ws, session, "Read", file_path="src/app.py")

    def multi_edit(*pairs: tuple[str, str]) -> ToolResult:
        edits = [{"old_string": old, "new_string": new} for old, new in pairs]
        return call(ws, session, "MultiEdit", file_path="src/app.py", edits=edits)

    failed = multi_edit(("import os", "import sys"), ("not there", "x"))
    assert failed.is_error
    assert failed.content.startswith("edit 2:")
    assert ws.text("src/app.py") == APP
    done = multi_edit(("import os", "import sys"), ("hello", "bye"))
    assert not done.is_error
    assert ws.text("src/app.py") == "import sys\n# TODO: handle errors\nprint('bye')\n"
    assert call(ws, session, "MultiEdit", file_path="src/app.py", edits=[]).is_error


def test_write_creates_and_overwrites_only_after_read(
    ws: FakeWorkspace, session: ToolSession
) -> None:
    created = call(ws, session, "Write", file_path="/workspace/docs/new.md", content="# New\n")
    assert created.content == "File created successfully at: /workspace/docs/new.md"
    blind = call(ws, session, "Write", file_path="README.md", content="gone")
    assert blind.is_error
    assert ws.text("README.md").startswith("# Demo")
    call(ws, session, "Read", file_path="README.md")
    assert not call(ws, session, "Write", file_path="README.md", content="new").is_error
    assert ws.text("README.md") == "new"


def test_limits_and_bad_input_are_is_error_results(session: ToolSession) -> None:
    ws = FakeWorkspace({}, max_file_bytes=10)
    too_big = call(ws, session, "Write", file_path="a.txt", content="x" * 11)
    assert too_big.is_error
    assert "limit" in too_big.content
    assert not ws.paths()
    bad = call(ws, session, "Read", offset=3)
    assert bad.is_error
    assert bad.content.startswith("InputValidationError: file_path")
    assert run_client_tool(client_tool("Read"), ws, ["x"], session).is_error  # type: ignore[arg-type]
    assert session.call_counts() == {"Write": 1, "Read": 2}


def test_an_unexpected_exception_becomes_a_logged_is_error(
    session: ToolSession, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(FakeWorkspace):
        def paths(self) -> list[str]:
            raise RuntimeError("secret detail")

    result = call(Broken({}), session, "Glob", pattern="*")
    assert result.is_error
    assert "internal error" in result.content
    assert "secret detail" not in result.content


def test_concurrent_edits_of_one_file_lose_no_update(session: ToolSession) -> None:
    ws = FakeWorkspace({"n.txt": "".join(f"line {i}\n" for i in range(40))})
    call(ws, session, "Read", file_path="n.txt")
    threads = [
        threading.Thread(
            target=call,
            args=(ws, session, "Edit"),
            kwargs={"file_path": "n.txt", "old_string": f"line {i}\n", "new_string": f"L{i}\n"},
        )
        for i in range(40)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ws.text("n.txt") == "".join(f"L{i}\n" for i in range(40))
