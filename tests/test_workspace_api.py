"""Workspaces over the API against moto server over HTTP: POST /workspaces, a presigned PUT
with httpx, an invocation referencing the ws_... id, and the result file endpoints."""

from __future__ import annotations

import io
import os
import zipfile
from typing import Any

import httpx
import pytest

from agents import aws, container
from agents.config import get_settings
from agents.workspace import Workspace, WorkspaceLimits, WorkspaceNotFound
from agents.workspace.inputs import load_request_workspace
from agents.workspace.results import save_result
from agents.workspace.uploads import WorkspaceUploads, get_uploads
from bench.reliability.hostile_archives import zip_of
from tests.plugins.api import TENANT_A, TENANT_B, ApiClient, ApiStack, seed_invocation
from tests.test_api import assert_problem

pytestmark = pytest.mark.integration

AGENT = "code-reviewer-fast"
PATH = f"/agents/{AGENT}/invocations"
INPUT = "def add(a, b):\n    return a + b\n"
CONTEXT = {"language": "python"}
ARCHIVE = zip_of({"src/app.py": b"print('hi')\n", "README.md": b"# demo\n"})


def _upload(api: ApiClient, data: bytes) -> dict[str, Any]:
    created = api.post("/workspaces")
    assert created.status == 201, created.text
    body: dict[str, Any] = created.json
    put = httpx.put(body["upload_url"], content=data, timeout=10)
    assert put.status_code == 200, put.text
    return body


def _record_count(api_stack: ApiStack) -> int:
    items = aws.client("dynamodb").scan(TableName=api_stack.stack.table, Select="COUNT")
    return int(items["Count"])


def test_post_workspaces_answers_an_id_and_a_presigned_put(api: ApiClient) -> None:
    created = api.post("/workspaces")
    assert created.status == 201, created.text
    body = created.json
    assert body["id"].startswith("ws_")
    assert len(body["id"]) == 29
    assert body["expires_in"] == 900
    assert body["max_bytes"] == get_settings().workspace_max_bytes
    assert "X-Amz-Signature=" in body["upload_url"]
    assert created.header("Location") == f"/workspaces/{body['id']}"
    assert api.post("/workspaces").json["id"] != body["id"]


def test_upload_then_invoke_loads_the_workspace(api: ApiClient, api_stack: ApiStack) -> None:
    upload = _upload(api, ARCHIVE)
    response = api.post(PATH, {"input": INPUT, "context": CONTEXT, "workspace": upload["id"]})
    assert response.status == 200, response.text
    assert response.json["status"] == "SUCCEEDED"
    workspace = load_request_workspace(TENANT_A, None, upload["id"], get_settings())
    assert workspace is not None
    assert workspace.paths() == ["README.md", "src/app.py"]
    assert workspace.read_bytes("src/app.py") == b"print('hi')\n"


def test_another_tenant_cannot_use_the_workspace(api: ApiClient, api_stack: ApiStack) -> None:
    upload = _upload(api, ARCHIVE)
    before = _record_count(api_stack)
    other = ApiClient(TENANT_B)
    assert_problem(
        other.post(PATH, {"input": INPUT, "context": CONTEXT, "workspace": upload["id"]}),
        404,
        "workspace-not-found",
    )
    with pytest.raises(WorkspaceNotFound):
        get_uploads().load(TENANT_B, upload["id"])
    assert _record_count(api_stack) == before


def test_a_workspace_never_uploaded_is_404_and_nothing_is_written(
    api: ApiClient, api_stack: ApiStack
) -> None:
    created = api.post("/workspaces").json
    response = api.post(PATH, {"input": INPUT, "context": CONTEXT, "workspace": created["id"]})
    assert_problem(response, 404, "workspace-not-found")
    assert _record_count(api_stack) == 0


def test_an_oversized_upload_is_413_before_it_is_read(
    api: ApiClient, api_stack: ApiStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKSPACE_MAX_BYTES", "2048")
    container.reset()
    upload = _upload(api, zip_of({f"f{i}": os.urandom(1024) for i in range(4)}))
    response = api.post(PATH, {"input": INPUT, "context": CONTEXT, "workspace": upload["id"]})
    problem = assert_problem(response, 413, "workspace-too-large")
    assert problem["limit"] == 2048
    assert _record_count(api_stack) == 0


def test_a_hostile_upload_is_rejected_when_loaded(api: ApiClient) -> None:
    upload = _upload(api, zip_of({"../../etc/passwd": b"x"}))
    uploads = WorkspaceUploads(
        bucket=get_settings().effective_payload_bucket, limits=WorkspaceLimits()
    )
    with pytest.raises(Exception, match="leaves the workspace") as caught:
        uploads.load(TENANT_A, upload["id"])
    assert getattr(caught.value, "status", None) == 422


@pytest.mark.parametrize(
    ("files", "status", "error_type"),
    [
        ({"../../etc/passwd": "x"}, 422, "workspace-invalid"),
        ({"/etc/hostname": "x"}, 422, "workspace-invalid"),
        ({"~/.aws/credentials": "x"}, 422, "workspace-invalid"),
        ({"a\u0000b": "x"}, 422, "workspace-invalid"),
        ({f"f{i}": "" for i in range(1001)}, 413, "workspace-too-large"),
    ],
)
def test_inline_files_are_checked_before_anything_is_written(
    api: ApiClient, api_stack: ApiStack, files: dict[str, str], status: int, error_type: str
) -> None:
    assert_problem(
        api.post(PATH, {"input": INPUT, "context": CONTEXT, "files": files}), status, error_type
    )
    assert _record_count(api_stack) == 0


def test_inline_files_run(api: ApiClient) -> None:
    response = api.post(
        PATH, {"input": INPUT, "context": CONTEXT, "files": {"src/app.py": "x = 1\n"}}
    )
    assert response.status == 200, response.text


def test_files_and_workspace_together_are_a_validation_error(api: ApiClient) -> None:
    body = {"input": INPUT, "files": {"a.py": ""}, "workspace": "ws_" + "0" * 26}
    assert_problem(api.post(PATH, body), 422, "validation-error")
    assert_problem(
        api.post(PATH, {"input": INPUT, "workspace": "ws_nope"}), 422, "validation-error"
    )


def _finished_run_with_changes(api_stack: ApiStack) -> tuple[str, Workspace]:
    invocation_id = "inv_0123456789abcdef0123456789ab"
    seed_invocation(invocation_id)
    workspace = Workspace.from_text_files(
        {"src/app.py": "x = 1\n", "old.txt": "bye\n"}, WorkspaceLimits()
    )
    workspace.write_bytes("src/app.py", b"x = 2\n")
    workspace.write_bytes("img/logo.bin", b"\x00\x01\x02")
    workspace.delete("old.txt")
    result = save_result(api_stack.stack.bucket, invocation_id, workspace)
    assert [change.path for change in result.files_changed] == [
        "img/logo.bin",
        "old.txt",
        "src/app.py",
    ]
    assert result.patch is not None
    assert "+x = 2" in result.patch
    return invocation_id, workspace


def test_result_files_and_the_workspace_zip(api: ApiClient, api_stack: ApiStack) -> None:
    invocation_id, workspace = _finished_run_with_changes(api_stack)
    text = api.get(f"/invocations/{invocation_id}/files/src%2Fapp.py")
    assert text.status == 200, text.text
    assert text.text == "x = 2\n"
    assert text.header("Content-Type") == "text/plain; charset=utf-8"
    binary = api.get(f"/invocations/{invocation_id}/files/img%2Flogo.bin")
    assert binary.status == 200
    assert binary.header("Content-Type") == "application/octet-stream"
    assert_problem(api.get(f"/invocations/{invocation_id}/files/old.txt"), 404, "not-found")
    assert_problem(
        api.get(f"/invocations/{invocation_id}/files/..%2F..%2Fetc%2Fpasswd"),
        422,
        "workspace-invalid",
    )
    link = api.get(f"/invocations/{invocation_id}/workspace")
    assert link.status == 200, link.text
    downloaded = httpx.get(link.json["url"], timeout=10)
    assert downloaded.status_code == 200
    assert downloaded.content == workspace.to_zip()
    archive = zipfile.ZipFile(io.BytesIO(downloaded.content))
    assert sorted(archive.namelist()) == ["img/logo.bin", "src/app.py"]
    assert archive.read("src/app.py") == b"x = 2\n"


def test_result_endpoints_are_tenant_bound(api: ApiClient, api_stack: ApiStack) -> None:
    invocation_id, _ = _finished_run_with_changes(api_stack)
    other = ApiClient(TENANT_B)
    assert_problem(
        other.get(f"/invocations/{invocation_id}/files/img%2Flogo.bin"), 404, "invocation-not-found"
    )
    assert_problem(
        other.get(f"/invocations/{invocation_id}/workspace"), 404, "invocation-not-found"
    )


def test_a_run_without_a_result_has_no_workspace(api: ApiClient) -> None:
    seed_invocation("inv_fedcba9876543210fedcba987654")
    response = api.get("/invocations/inv_fedcba9876543210fedcba987654/workspace")
    assert_problem(response, 404, "not-found")


def test_a_large_patch_is_offloaded(api_stack: ApiStack) -> None:
    workspace = Workspace.from_text_files({"big.txt": "a\n" * 10}, WorkspaceLimits())
    workspace.write_bytes("big.txt", b"b\n" * 60_000)
    result = save_result(api_stack.stack.bucket, "inv_00000000000000000000000000aa", workspace)
    assert result.patch is None
    assert result.patch_ref is not None
    bucket, key = result.patch_ref[5:].split("/", 1)
    body = aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    assert body == workspace.patch()
