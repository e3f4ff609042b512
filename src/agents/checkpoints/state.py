"""What a checkpoint holds: the loop's state after a finished turn, and its S3 manifest.

A checkpoint is content-addressed: every conversation message, transcript turn and changed
workspace file is a blob keyed by the sha256 of its bytes; the manifest of one turn lists
their hashes plus the run's counters. A turn therefore uploads only the blobs that are new.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agents.types import Usage

__all__ = [
    "MANIFEST_VERSION",
    "MAX_BLOB_BYTES",
    "MAX_MANIFEST_BYTES",
    "CheckpointState",
    "Manifest",
    "blob_hash",
    "canonical_json",
    "is_blob_hash",
]

MANIFEST_VERSION: Final = 1
#: One message, transcript turn or workspace file; larger ones are refused (decision 15.4).
MAX_BLOB_BYTES: Final = 8 * 1024 * 1024
#: The manifest (hash lists and counters).
MAX_MANIFEST_BYTES: Final = 2 * 1024 * 1024
#: Request ids kept across segments (the newest).
MAX_REQUEST_IDS: Final = 200

_HASH_RE = re.compile(r"^[0-9a-f]{64}$")


def canonical_json(value: Any) -> bytes:
    """The one byte form of a JSON value (sorted keys, no spaces): same value, same hash."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def blob_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def is_blob_hash(value: str) -> bool:
    return bool(_HASH_RE.match(value))


class CheckpointState(BaseModel):
    """The tool loop after turn ``turn``: everything a new owner needs to go on from the next.

    ``open_calls``: the turn's model answer is kept but its tool calls wait for approval
    (``open_record`` is that turn's transcript entry so far); the turn is not finished.
    ``final_stop``: the loop had decided to stop after this turn (a new owner just finishes).
    """

    model_config = ConfigDict(extra="forbid")

    turn: int = Field(ge=0)
    messages: list[dict[str, Any]]
    transcript: list[dict[str, Any]] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float = 0.0
    tool_calls: dict[str, int] = Field(default_factory=dict)
    client_calls: int = 0
    attempts: int = 0
    model_calls: int = 0
    request_ids: list[str] = Field(default_factory=list)
    #: Seconds each turn took (model call + tool results): the hand-off estimate.
    turn_seconds: list[float] = Field(default_factory=list)
    output: str = ""
    first_token_ms: float | None = None
    final_stop: str | None = None
    open_calls: list[dict[str, Any]] | None = None
    open_record: dict[str, Any] | None = None


class Manifest(BaseModel):
    """``<prefix><id>/checkpoint/turn-<n>.json``: the blobs of one checkpoint and its counters."""

    model_config = ConfigDict(extra="forbid")

    version: int = MANIFEST_VERSION
    invocation_id: str
    turn: int = Field(ge=0)
    messages: list[str]
    transcript: list[str]
    #: Workspace path -> blob hash of every file added or modified since the request.
    files: dict[str, str] = Field(default_factory=dict)
    #: Workspace paths of the request deleted since.
    deleted: list[str] = Field(default_factory=list)
    #: ``CheckpointState`` without ``messages`` and ``transcript``.
    state: dict[str, Any]

    @field_validator("messages", "transcript")
    @classmethod
    def _hashes(cls, value: list[str]) -> list[str]:
        for item in value:
            if not is_blob_hash(item):
                raise ValueError("not a sha256 blob hash")
        return value

    @field_validator("files")
    @classmethod
    def _file_hashes(cls, value: dict[str, str]) -> dict[str, str]:
        for item in value.values():
            if not is_blob_hash(item):
                raise ValueError("not a sha256 blob hash")
        return value

    def blob_hashes(self) -> set[str]:
        return {*self.messages, *self.transcript, *self.files.values()}
