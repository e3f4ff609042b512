"""No tool reaches anything outside the workspace: host files, home, symlinks, environment.

Each hostile path gives an ``is_error`` result that contains none of the target's
content, read here from the real files on this machine.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from agents.tools import ToolSession, client_tool, run_client_tool
from tests.tools.fake_workspace import FakeWorkspace

SECRET_ENV = "AGW_TOOLS_TEST_SECRET"
SECRET_VALUE = "s3cr3t-value-that-must-not-leak-7f3a"


def _real_content(path: str, *, shortest: int = 4) -> list[str]:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return []
    return [line.strip() for line in text.splitlines() if len(line.strip()) >= shortest]


@pytest.fixture
def host_link(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A symlink to /etc/hostname in the current directory (the tools must not follow it)."""
    (tmp_path / "hostlink").symlink_to("/etc/hostname")
    (tmp_path / "creds").write_text("aws_secret_access_key = ABCDEFDONOTLEAK\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(SECRET_ENV, SECRET_VALUE)
    return "hostlink"


HOSTILE_PATHS = [
    "../../etc/passwd",
    "/etc/passwd",
    "/etc/hostname",
    "~/.aws/credentials",
    "~root/.bashrc",
    "/workspace/../etc/hostname",
    "/workspace/../../etc/passwd",
    "src/../../etc/hostname",
    "hostlink",
    "./hostlink",
    "creds",
    f"${SECRET_ENV}",
    f"${{{SECRET_ENV}}}",
    "%HOME%/.aws/credentials",
    "/proc/self/environ",
    "/proc/self/cwd/creds",
    "\\etc\\passwd",
    "src/app.py\x00/etc/passwd",
    "file:///etc/hostname",
]


def _calls(path: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("Read", {"file_path": path}),
        ("Glob", {"pattern": "*", "path": path}),
        ("Glob", {"pattern": path}),
        ("Grep", {"pattern": ".", "path": path, "output_mode": "content"}),
        ("LS", {"path": path}),
        ("Edit", {"file_path": path, "old_string": "a", "new_string": "b"}),
        ("Write", {"file_path": path, "content": "x"}),
        ("MultiEdit", {"file_path": path, "edits": [{"old_string": "a", "new_string": "b"}]}),
    ]


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_hostile_paths_are_is_error_without_the_targets_content(host_link: str, path: str) -> None:
    hostname = _real_content("/etc/hostname", shortest=1)
    forbidden = (
        hostname
        + _real_content("/etc/passwd")
        + _real_content(os.path.expanduser("~/.aws/credentials"))
        + ["ABCDEFDONOTLEAK", SECRET_VALUE]
    )
    assert hostname, "this machine has a /etc/hostname to protect"
    ws = FakeWorkspace({"src/app.py": "print('a')\n"})
    session = ToolSession()
    session.mark_read("src/app.py")
    for name, tool_input in _calls(path):
        result = run_client_tool(client_tool(name), ws, tool_input, session)
        if name == "Glob" and "pattern" in tool_input and tool_input["pattern"] == path:
            assert result.is_error or result.content == "No files found", (name, result)
        elif name == "Write" and not result.is_error:
            # A plain relative name ("creds", "$NAME", "hostlink") is a new file inside the
            # workspace: nothing is expanded or followed, and the host is untouched.
            assert result.content.startswith("File created successfully at: /workspace/")
        else:
            assert result.is_error, (name, path, result.content)
        for secret in forbidden:
            assert secret not in result.content, (name, path, secret)
    assert ws.text("src/app.py") == "print('a')\n"
    assert Path("creds").read_text() == "aws_secret_access_key = ABCDEFDONOTLEAK\n"
    assert Path("/etc/hostname").read_text().strip() == hostname[0]
    assert all(not p.startswith(("/", "..", "~")) for p in ws.paths())


def test_grep_over_the_whole_workspace_never_sees_host_files(host_link: str) -> None:
    ws = FakeWorkspace({"a.txt": "nothing here\n"})
    result = run_client_tool(
        client_tool("Grep"), ws, {"pattern": "root|ABCDEF", "output_mode": "content"}, ToolSession()
    )
    assert result.content == "No matches found"
