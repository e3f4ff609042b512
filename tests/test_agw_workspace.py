"""agw invoke --files / --workspace / --out / --patch."""

from __future__ import annotations

import argparse
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from agents.workspace import Workspace, WorkspaceLimits
from agw import invoke_cmd
from agw.client import AgwClient
from agw.workspace_files import inline_files, write_changed_files, zip_directory

PATCH = "diff --git a/src/app.py b/src/app.py\n--- a/src/app.py\n+++ b/src/app.py\n"


def _project(root: Path) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("print('hi')\n")
    (root / "README.md").write_text("# demo\n")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / "logo.bin").write_bytes(b"\x00\x01\x02")
    (root / "link").symlink_to("/etc/passwd")
    return root


def test_inline_files_are_relative_to_the_current_directory(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    files = inline_files([str(root / "src"), str(root / "README.md")], base=root)
    assert files == {"src/app.py": "print('hi')\n", "README.md": "# demo\n"}


def test_inline_files_refuse_binary_and_outside_paths(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    with pytest.raises(ValueError, match="not UTF-8"):
        inline_files([str(root / "logo.bin")], base=root)
    with pytest.raises(ValueError, match="outside"):
        inline_files([str(root / "README.md")], base=root / "src")
    with pytest.raises(ValueError, match="no such file"):
        inline_files([str(root / "missing.txt")], base=root)


def test_zip_directory_leaves_out_vcs_and_symlinks(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    data = zip_directory(root)
    names = sorted(zipfile.ZipFile(io.BytesIO(data)).namelist())
    assert names == ["README.md", "logo.bin", "src/app.py"]
    assert Workspace.from_archive(data, WorkspaceLimits()).paths() == names
    assert zip_directory(root) == data


def _client(handler: Any) -> AgwClient:
    return AgwClient("http://api.test", "key", transport=httpx.MockTransport(handler))


def _invocation(**extra: Any) -> dict[str, Any]:
    return {
        "id": "inv_0123456789abcdef0123456789ab",
        "agent": "python-fixer",
        "status": "SUCCEEDED",
        "mode": "sync",
        "output": "## Files Changed\n\n- src/app.py\n",
        "files_changed": [
            {"path": "src/app.py", "change": "modified", "bytes": 12},
            {"path": "new/mod.py", "change": "added", "bytes": 6},
            {"path": "old.txt", "change": "deleted", "bytes": 0},
        ],
        "patch": PATCH,
        **extra,
    }


def _api(requests: list[httpx.Request]) -> Any:
    contents = {"src/app.py": b"print('bye')\n", "new/mod.py": b"X = 1\n"}

    def handle(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        path = request.url.raw_path.decode()
        if request.method == "POST" and path.endswith("/invocations"):
            return httpx.Response(200, json=_invocation())
        prefix = "/invocations/inv_0123456789abcdef0123456789ab/files/"
        if path.startswith(prefix):
            from urllib.parse import unquote

            name = unquote(path[len(prefix) :])
            if name in contents:
                return httpx.Response(200, content=contents[name])
        return httpx.Response(404, json={"type": "/problems/not-found", "detail": path})

    return handle


def _args(**values: Any) -> argparse.Namespace:
    defaults: dict[str, Any] = {
        "agent": "python-fixer",
        "text": "fix it",
        "context_pairs": {},
        "metadata_pairs": {},
        "asynchronous": False,
        "wait": False,
        "idempotency_key": None,
        "json": True,
        "max_tokens": None,
        "agent_version": None,
        "inline_files": {"src/app.py": "print('hi')\n"},
        "archive": None,
        "out": None,
        "patch": False,
        "prefer_wait": 25.0,
        "require_approval": None,
        "follow": False,
    }
    return argparse.Namespace(**(defaults | values))


def test_invoke_sends_inline_files_and_writes_the_changed_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    requests: list[httpx.Request] = []
    out = tmp_path / "out"
    code = invoke_cmd._invoke(_client(_api(requests)), _args(out=str(out)))
    assert code == 0
    sent = json.loads(requests[0].content)
    assert sent["files"] == {"src/app.py": "print('hi')\n"}
    assert "workspace" not in sent
    assert (out / "src" / "app.py").read_bytes() == b"print('bye')\n"
    assert (out / "new" / "mod.py").read_bytes() == b"X = 1\n"
    assert not (out / "old.txt").exists()
    err = capsys.readouterr().err
    assert "deleted by the run: old.txt" in err
    assert "wrote 2 file(s)" in err


def test_patch_goes_to_stdout_and_the_view_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    code = invoke_cmd._invoke(_client(_api([])), _args(patch=True))
    assert code == 0
    captured = capsys.readouterr()
    assert captured.out == PATCH
    assert '"files_changed"' in captured.err


def test_out_refuses_a_path_that_leaves_the_directory(tmp_path: Path) -> None:
    hostile = _invocation(
        files_changed=[{"path": "../../escape.txt", "change": "added", "bytes": 1}]
    )
    client = _client(lambda request: httpx.Response(200, content=b"x"))
    with pytest.raises(ValueError, match="refusing"):
        write_changed_files(client, hostile, tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()
    assert not any(tmp_path.rglob("escape.txt"))


@pytest.mark.integration
def test_upload_workspace_puts_the_archive_where_a_run_loads_it(
    tmp_path: Path, invocation_tables: Any
) -> None:
    from agents.workspace.uploads import get_uploads

    tenant = "agw-cli-tenant"

    def handle(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/workspaces"
        return httpx.Response(201, json=get_uploads().create(tenant).model_dump())

    archive = zip_directory(_project(tmp_path / "p"))
    workspace_id = _client(handle).upload_workspace(archive)
    loaded = get_uploads().load(tenant, workspace_id)
    assert loaded.paths() == ["README.md", "logo.bin", "src/app.py"]
    assert os.environ["PAYLOAD_BUCKET"] == get_uploads().bucket
