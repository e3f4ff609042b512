"""Scenario 11, hostile workspaces: hostile archives (zip bomb, symlink, traversal, 100 000
files, NUL names...) and hostile inline ``files``: each a clear 4xx, nothing written."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from bench.reliability.api_answers import INVOKE, is_problem
from bench.reliability.harness import KEY_A, Harness
from bench.reliability.hostile_archives import HOSTILE_ARCHIVES, many_files_zip
from bench.reliability.outcome import Outcome

__all__ = ["HOSTILE_FILES", "hostile_workspaces"]

#: label -> an inline ``files`` object the API must refuse.
HOSTILE_FILES: dict[str, dict[str, str]] = {
    "files traversal": {"../../etc/passwd": "x"},
    "files absolute path": {"/etc/hostname": "x"},
    "files home": {"~/.aws/credentials": "x"},
    "files NUL in a name": {"ok.txt\u0000.sh": "x"},
    "files backslash": {"..\\..\\windows\\win.ini": "x"},
    "files 1001 entries": {f"f/{index}": "" for index in range(1001)},
}


def _state(h: Harness) -> dict[str, int]:
    return {
        "records": len(h.scan()),
        "payload_objects": len(h.bucket_keys(h.environment.get("PAYLOAD_PREFIX", "payloads/"))),
        "queued_messages": h.queue_depth(h.queue_url),
    }


def _clear(response: httpx.Response) -> bool:
    return 400 <= response.status_code < 500 and is_problem(response)


def hostile_workspaces(h: Harness, *, many_files: int = 100_000) -> Outcome:
    """Upload each hostile archive (POST /workspaces + the presigned PUT), invoke with it;
    then hostile inline files. Every invocation must be refused before anything is written."""
    out = Outcome("hostile-workspaces", "11. Hostile workspaces")
    started = time.monotonic()
    h.clean()
    archives = dict(HOSTILE_ARCHIVES)
    archives["zip 100 000 files"] = lambda: many_files_zip(many_files)
    before = _state(h)
    calls_before = h.model_calls()
    results: list[tuple[str, int, str, bool]] = []
    uploads_ok = 0
    with h.client(KEY_A, timeout=120) as client:
        for label, build in archives.items():
            created = client.post("/workspaces")
            if created.status_code != 201:
                results.append((label, created.status_code, "upload refused", False))
                continue
            upload: dict[str, Any] = created.json()
            put = httpx.put(upload["upload_url"], content=build(), timeout=120)
            uploads_ok += put.status_code == 200
            response = client.post(INVOKE, json={"input": "hostile", "workspace": upload["id"]})
            results.append((label, response.status_code, _type(response), _clear(response)))
        for label, files in HOSTILE_FILES.items():
            body = json.dumps({"input": "hostile", "files": files})
            response = client.post(
                INVOKE, content=body, headers={"Content-Type": "application/json"}
            )
            results.append((label, response.status_code, _type(response), _clear(response)))
    after = _state(h)
    out.figures = {
        "cases": len(results),
        "clear_4xx": sum(1 for result in results if result[3]),
        "5xx": sum(1 for result in results if result[1] >= 500),
        "uploads": uploads_ok,
        "records_written": after["records"] - before["records"],
        "objects_written": after["payload_objects"] - before["payload_objects"],
        "messages_queued": after["queued_messages"] - before["queued_messages"],
        "model_calls": h.model_calls() - calls_before,
    }
    out.check("every upload accepted by S3", uploads_ok == len(archives))
    out.check_refused_cleanly(
        len(results),
        unwritten=("records_written", "objects_written", "messages_queued", "model_calls"),
    )
    out.notes.extend(f"{label}: {status} {kind}" for label, status, kind, _ in results)
    out.seconds = time.monotonic() - started
    return out


def _type(response: httpx.Response) -> str:
    try:
        return str(response.json().get("type", ""))
    except ValueError:
        return ""
