"""A small in-memory workspace with ``agents.workspace.Workspace``'s methods (CONTRACT14 W).

The tools are written against that interface; these tests use this stand-in so they
do not depend on the workspace package's internals.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from agents.errors import GatewayError


class FakePathError(GatewayError, error_type="workspace-invalid", status=422): ...


class FakeLimitExceeded(GatewayError, error_type="workspace-too-large", status=413): ...


class FakeWorkspace:
    ROOT = "/workspace"

    def __init__(self, files: Mapping[str, bytes | str], *, max_file_bytes: int = 2 << 20) -> None:
        self._files = {
            self.resolve(k): v.encode() if isinstance(v, str) else v for k, v in files.items()
        }
        self._lock = threading.Lock()
        self.max_file_bytes = max_file_bytes

    def resolve(self, path: str) -> str:
        text = path
        if text.startswith(self.ROOT + "/"):
            text = text[len(self.ROOT) + 1 :]
        while text.startswith("./"):
            text = text[2:]
        parts = text.split("/")
        if (
            not text
            or text.startswith("/")
            or "\x00" in text
            or "\\" in text
            or text.startswith("~")
            or any(p in ("", ".", "..") for p in parts)
            or len(text) > 256
        ):
            raise FakePathError(f"invalid workspace path {path[:80]!r}")
        return text

    def exists(self, path: str) -> bool:
        return path in self._files

    def is_dir(self, path: str) -> bool:
        return any(p.startswith(path + "/") for p in self._files)

    def read_bytes(self, path: str) -> bytes:
        with self._lock:
            if path not in self._files:
                raise FileNotFoundError(path)
            return self._files[path]

    def is_binary(self, path: str) -> bool:
        data = self.read_bytes(path)
        return b"\x00" in data[:8192]

    def write_bytes(self, path: str, data: bytes) -> None:
        if len(data) > self.max_file_bytes:
            raise FakeLimitExceeded(
                f"{path} would be {len(data)} bytes; the limit is {self.max_file_bytes}"
            )
        with self._lock:
            self._files[path] = data

    def delete(self, path: str) -> None:
        with self._lock:
            self._files.pop(path, None)

    def paths(self) -> list[str]:
        with self._lock:
            return sorted(self._files)

    def text(self, path: str) -> str:
        return self._files[path].decode()
