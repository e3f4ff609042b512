"""Scenario 12, hostile tool inputs: the model (scripted, ``/_fake/script``) asks Read, Glob,
Grep and Edit for paths outside the workspace. Nothing outside it is opened or leaked.

Besides the host's own ``/etc/passwd``, ``/etc/hostname`` and ``~/.aws/credentials`` the
scenario plants a canary file (a unique token) and a symlink to it in a temporary directory
and asks for both, by absolute path, by ``..`` from ``/workspace`` and by the symlink's name.
A process audit hook (``sys.addaudithook``: every ``open`` of this process, the functions'
threads included) records any open of those files while the run is measured; the transcript's
tool results must hold neither the canary nor a passwd line, and the workspace stays unchanged.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.reliability.harness import KEY_A, Harness
from bench.reliability.outcome import Outcome

__all__ = ["FILES", "hostile_calls", "hostile_tools"]

AGENT = "python-fixer"
FILES = {"app.py": "x = 1\n"}
ANSWER = "## Summary\nNothing to do.\n\n## Files Changed\nNone.\n\n## Verification\nNone.\n"


class OpenWatch:
    """Opens of ``targets`` (resolved paths) by this process while :meth:`watching`."""

    _installed: OpenWatch | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        self.targets: set[str] = set()
        self.opened: list[str] = []
        self.active = False

    @classmethod
    def instance(cls) -> OpenWatch:
        """The one watch (an audit hook cannot be removed: it is installed once, then reused)."""
        with cls._lock:
            if cls._installed is None:
                cls._installed = cls()
                sys.addaudithook(cls._installed._hook)
            return cls._installed

    def _hook(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.active or event != "open" or not args:
            return
        path = args[0]
        if isinstance(path, (str, bytes, os.PathLike)):
            name = os.fsdecode(path)
            if name in self.targets or os.path.realpath(name) in self.targets:
                self.opened.append(name)

    @contextmanager
    def watching(self, targets: set[str]) -> Iterator[OpenWatch]:
        self.targets = {os.path.realpath(t) for t in targets} | set(targets)
        self.opened = []
        self.active = True
        try:
            yield self
        finally:
            self.active = False


def hostile_paths(canary: Path, link: Path) -> list[str]:
    """The paths the model asks for: the host's files, the canary and the symlink to it."""
    climb = "/workspace/" + "../" * 8
    return [
        "../../etc/passwd",
        "/etc/hostname",
        "~/.aws/credentials",
        str(canary),
        str(link),
        climb + str(canary).lstrip("/"),
        "/proc/self/root/etc/passwd",
    ]


def hostile_calls(paths: list[str]) -> list[dict[str, Any]]:
    """One tool_use block per (tool, path): Read, Glob, Grep and Edit on each hostile path."""
    blocks: list[dict[str, Any]] = []
    for path in paths:
        for name, tool_input in (
            ("Read", {"file_path": path}),
            ("Glob", {"pattern": "*", "path": path}),
            ("Grep", {"pattern": "root|canary", "path": path, "output_mode": "content"}),
            ("Edit", {"file_path": path, "old_string": "root", "new_string": "owned"}),
        ):
            blocks.append(
                {
                    "type": "tool_use",
                    "id": f"toolu_hostile{len(blocks):03d}",
                    "name": name,
                    "input": tool_input,
                }
            )
    parent = str(Path(paths[3]).parent)
    for number, pattern in enumerate(("../../etc/*", "/etc/*", f"{parent}/*", "../**/*")):
        blocks.append(
            {
                "type": "tool_use",
                "id": f"toolu_hostileglob{number}",
                "name": "Glob",
                "input": {"pattern": pattern},
            }
        )
    return blocks


def _leaks(text: str, token: str) -> bool:
    return token in text or "root:x:0:0" in text or "aws_secret_access_key" in text


def hostile_tools(h: Harness) -> Outcome:
    """A python-fixer run whose model asks for everything outside the workspace."""
    out = Outcome("hostile-tools", "14. Hostile tool inputs")
    h.clean()
    token = "CANARY-" + secrets.token_hex(12)
    with tempfile.TemporaryDirectory(prefix="agw-hostile-") as tmp:
        canary = Path(tmp) / "canary.txt"
        canary.write_text(f"{token}\n")
        link = Path(tmp) / "workspace-link"
        link.symlink_to(canary)
        paths = hostile_paths(canary, link)
        targets = {
            "/etc/passwd",
            "/etc/hostname",
            str(Path("~/.aws/credentials").expanduser()),
            str(canary),
            str(link),
        }
        calls = hostile_calls(paths)
        script = {
            "responses": [
                {"content": calls, "stop_reason": "tool_use"},
                {"content": [{"type": "text", "text": ANSWER}], "stop_reason": "end_turn"},
            ]
        }
        httpx.delete(h.fake.url + "/_fake/script", timeout=10).raise_for_status()
        httpx.post(h.fake.url + "/_fake/script", json=script, timeout=10).raise_for_status()
        with h.client(KEY_A, timeout=60) as client, OpenWatch.instance().watching(targets) as w:
            response = client.post(
                f"/agents/{AGENT}/invocations", json={"input": "Read those", "files": FILES}
            )
            view: dict[str, Any] = response.json() if response.status_code == 200 else {}
            transcript = client.get(f"/invocations/{view['id']}/transcript").json() if view else {}
        httpx.delete(h.fake.url + "/_fake/script", timeout=10)
    results = [call for turn in transcript.get("turns", []) for call in turn.get("tool_calls", [])]
    out.figures = {
        "tool_calls": len(results),
        "errors": sum(1 for call in results if call.get("is_error")),
        "reads_outside": len(w.opened),
        "leaks": sum(1 for call in results if _leaks(str(call.get("result", "")), token)),
        "files_changed": len(view.get("files_changed") or []),
        "status": response.status_code,
    }
    out.check("the run answers 200 SUCCEEDED", view.get("status") == "SUCCEEDED")
    out.check("every hostile call ran and was answered", out["tool_calls"] == len(calls))
    out.check("every Read, Grep and Edit on a hostile path is an error", _errors_ok(results))
    out.check("0 reads outside the workspace", out["reads_outside"] == 0)
    out.check("no host or canary content in any tool result", out["leaks"] == 0)
    out.check("the workspace is unchanged", out["files_changed"] == 0)
    out.notes.extend(f"opened {name}" for name in w.opened)
    return out.done()


def _errors_ok(results: list[dict[str, Any]]) -> bool:
    pathed = [
        call
        for call in results
        if call.get("name") in {"Read", "Grep", "Edit"}
        or (call.get("name") == "Glob" and "path" in call.get("input", {}))
    ]
    return bool(pathed) and all(call.get("is_error") for call in pathed)
