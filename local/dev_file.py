"""``.agw/dev.json``: where the running ``agw dev`` stack is (a stable interface, docs/local.md).

``agw dev`` writes it once the stack is up (mode 0600 in a 0700 ``.agw/``) and
removes it on exit; ``agw local invoke`` and the operations commands
(:mod:`agw.stack_target`) read it. It never holds a real Anthropic API key:
``model.key_source`` says where the functions' key comes from instead.
``$AGW_DEV_FILE`` names another path (tests, a second checkout).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "DEV_FILE_ENV",
    "SCHEMA_VERSION",
    "DevFile",
    "DevFileModel",
    "DevFileResources",
    "dev_file_path",
    "read_dev_file",
    "remove_dev_file",
    "write_dev_file",
]

SCHEMA_VERSION = 1
DEV_FILE_ENV = "AGW_DEV_FILE"
#: Relative to the project root (the directory holding template.yaml).
DEFAULT_RELATIVE_PATH = Path(".agw") / "dev.json"


class DevFileModel(BaseModel):
    """The model the stack's functions call."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    #: ``offline`` (the fake Messages API) or ``anthropic`` (the real API).
    kind: Literal["offline", "anthropic"]
    #: The functions' ``ANTHROPIC_BASE_URL`` (``None``: the SDK's default, the real API).
    base_url: str | None
    #: Where the functions' ``ANTHROPIC_API_KEY`` comes from:
    #: ``offline-placeholder`` (the constant :data:`offline_api_key`, not a secret) or
    #: ``environment`` (``ANTHROPIC_API_KEY`` of the shell that started ``agw dev``).
    key_source: Literal["offline-placeholder", "environment"]
    #: The placeholder key the fake accepts (only with ``offline-placeholder``).
    offline_api_key: str | None = None


class DevFileResources(BaseModel):
    """The stack's resource names (as the functions' environment names them)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    invocations_table: str
    idempotency_table: str
    queue_url: str
    dlq_url: str
    agents_bucket: str
    agents_prefix: str
    payload_bucket: str
    payload_prefix: str
    tenants_table: str = ""
    tenant_key_pepper_secret: str = ""
    webhook_queue_url: str = ""
    webhook_dlq_url: str = ""
    webhook_secret_prefix: str = ""


class DevFile(BaseModel):
    """``.agw/dev.json`` (``schema_version`` 1; fields are only ever added)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    schema_version: int = SCHEMA_VERSION
    #: The ``agw dev`` process (a file whose process is gone is stale and ignored).
    pid: int
    started_at: str
    project_root: str
    stack_name: str
    region: str
    api_url: str
    aws_url: str
    model: DevFileModel
    resources: DevFileResources
    #: Local API key -> tenant id (the keys mean nothing outside this stack).
    tenants: dict[str, str]
    #: The environment the stack's functions run with, ``ANTHROPIC_API_KEY`` left out.
    environment: dict[str, str] = Field(default_factory=dict)
    #: Local API key -> its tenant's webhook signing secret (``whsec_…``, this stack only).
    webhook_secrets: dict[str, str] = Field(default_factory=dict)

    @property
    def api_keys(self) -> list[str]:
        return list(self.tenants)

    def is_alive(self) -> bool:
        """True while the ``agw dev`` process that wrote the file runs."""
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def dev_file_path(root: Path | str | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """``$AGW_DEV_FILE``, else ``<root>/.agw/dev.json`` (root: the working directory)."""
    env = os.environ if environ is None else environ
    override = env.get(DEV_FILE_ENV, "").strip()
    if override:
        return Path(override)
    return Path(root if root is not None else Path.cwd()) / DEFAULT_RELATIVE_PATH


def write_dev_file(path: Path, dev: DevFile) -> bool:
    """Create ``path`` with mode 0600 (its directory 0700); ``False`` when a live
    ``agw dev`` already owns it (the file is left alone)."""
    existing = read_dev_file(path, live_only=False)
    if existing is not None and existing.pid != dev.pid and existing.is_alive():
        return False
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # stale (its process is gone) or ours
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(dev.model_dump_json(indent=2) + "\n")
    return True


def read_dev_file(path: Path | None = None, *, live_only: bool = True) -> DevFile | None:
    """The dev file at ``path`` (default :func:`dev_file_path`), or ``None`` when it is
    missing, unreadable, of a newer schema, or (``live_only``) its process is gone."""
    file = path or dev_file_path()
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        dev = DevFile.model_validate(data)
    except (OSError, ValueError, ValidationError):
        return None
    if dev.schema_version > SCHEMA_VERSION:
        return None
    if live_only and not dev.is_alive():
        return None
    return dev


def remove_dev_file(path: Path, pid: int | None = None) -> None:
    """Remove ``path`` if it is there (and, with ``pid``, only if that process wrote it)."""
    if pid is not None:
        existing = read_dev_file(path, live_only=False)
        if existing is not None and existing.pid != pid:
            return
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    if path.parent.name == DEFAULT_RELATIVE_PATH.parent.name:
        with contextlib.suppress(OSError):
            path.parent.rmdir()  # .agw/ goes too when nothing else is in it
