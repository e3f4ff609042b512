"""What a checkpoint holds: the loop's state after a finished turn, and its S3 turn object.

A checkpoint is content-addressed: every conversation message, transcript turn and changed
workspace file is a blob named by the sha256 of its bytes. One **turn object** per
checkpoint lists the hashes and the run's counters and carries the blobs that are new in
that turn inline; a blob an earlier turn wrote is referred to by that turn object's name,
and a blob too large to go inline is an object of its own (decisions 15.2, 15.70-15.79).
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
    "MAX_INLINE_BLOB_BYTES",
    "MAX_INLINE_BYTES",
    "MAX_INLINE_FILE_BYTES",
    "MAX_MANIFEST_BYTES",
    "READABLE_VERSIONS",
    "CheckpointState",
    "Manifest",
    "blob_hash",
    "canonical_json",
    "is_blob_hash",
    "is_turn_object_name",
    "turn_object_digest",
    "turn_object_name",
]

#: 2: new blobs inline in the turn object (decision 15.70). 1: every blob its own object.
MANIFEST_VERSION: Final = 2
#: Versions a checkpoint is read in: a version-1 checkpoint is a version 2 without inline
#: blobs, so runs checkpointed before the change resume (decision 15.75).
READABLE_VERSIONS: Final = frozenset({1, 2})
#: One message, transcript turn or workspace file; larger ones are refused (decision 15.4).
MAX_BLOB_BYTES: Final = 8 * 1024 * 1024
#: A JSON blob (message, transcript turn) up to this size goes inline into its turn object.
MAX_INLINE_BLOB_BYTES: Final = 1024 * 1024
#: A changed workspace file up to this size goes inline (base64, a third larger).
MAX_INLINE_FILE_BYTES: Final = 64 * 1024
#: All the inline blobs of one turn object together; what does not fit is its own object.
MAX_INLINE_BYTES: Final = 4 * 1024 * 1024
#: The turn object: 2 MiB of hash lists and counters (the version-1 manifest's bound) plus
#: the inline blobs (decision 15.72).
MAX_MANIFEST_BYTES: Final = 2 * 1024 * 1024 + MAX_INLINE_BYTES
#: Request ids kept across segments (the newest).
MAX_REQUEST_IDS: Final = 200

_HASH_RE = re.compile(r"^[0-9a-f]{64}$")
#: ``turn-<nnnnn>[-open]-<sha256 of the object's bytes>.json`` (version 2) or
#: ``turn-<nnnnn>[-open].json`` (version 1).
_TURN_OBJECT_RE = re.compile(r"^turn-[0-9]{5}(-open)?(-(?P<digest>[0-9a-f]{64}))?\.json$")


def canonical_json(value: Any) -> bytes:
    """The one byte form of a JSON value (sorted keys, no spaces): same value, same hash."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def blob_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def is_blob_hash(value: str) -> bool:
    return bool(_HASH_RE.match(value))


def turn_object_name(turn: int, *, open_turn: bool, body: bytes) -> str:
    """The name of a turn object: its turn, whether it is open, and the hash of its bytes (so
    a name, once referred to, always means the same bytes: no writer can replace them)."""
    return f"turn-{int(turn):05d}{'-open' if open_turn else ''}-{blob_hash(body)}.json"


def is_turn_object_name(name: str, *, version_1: bool = False) -> bool:
    """A version-2 turn object's name (``version_1``: or a version-1 manifest's)."""
    match = _TURN_OBJECT_RE.match(name)
    return match is not None and (version_1 or match.group("digest") is not None)


def turn_object_digest(name: str) -> str | None:
    """The hash a version-2 turn object's name promises for its bytes (None: version 1)."""
    match = _TURN_OBJECT_RE.match(name)
    return match.group("digest") if match else None


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


def _check_hashes(values: Any) -> None:
    for item in values:
        if not isinstance(item, str) or not is_blob_hash(item):
            raise ValueError("not a sha256 blob hash")


class Manifest(BaseModel):
    """``<prefix><id>/checkpoint/turn-<n>[-open]-<sha256>.json``: one checkpoint's turn object.

    A hash of ``messages``, ``transcript`` or ``files`` is found in this object's ``blobs``
    or ``file_blobs``, else in the earlier turn object ``held_by`` names for it, else in its
    own object ``checkpoint/blobs/<hash>``.
    """

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
    #: The JSON blobs new in this turn: hash -> value (the hash of its canonical JSON).
    blobs: dict[str, Any] = Field(default_factory=dict)
    #: The workspace files new in this turn: hash -> base64 of the bytes.
    file_blobs: dict[str, str] = Field(default_factory=dict)
    #: The name of an earlier turn object -> the hashes of this checkpoint it holds inline.
    held_by: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("version")
    @classmethod
    def _readable(cls, value: int) -> int:
        if value not in READABLE_VERSIONS:
            raise ValueError(
                f"checkpoint format version {value} is not one this gateway reads "
                f"({sorted(READABLE_VERSIONS)})"
            )
        return value

    @field_validator("messages", "transcript")
    @classmethod
    def _hashes(cls, value: list[str]) -> list[str]:
        _check_hashes(value)
        return value

    @field_validator("files")
    @classmethod
    def _file_hashes(cls, value: dict[str, str]) -> dict[str, str]:
        _check_hashes(value.values())
        return value

    @field_validator("blobs", "file_blobs")
    @classmethod
    def _inline_hashes(cls, value: dict[str, Any]) -> dict[str, Any]:
        _check_hashes(value.keys())
        return value

    @field_validator("held_by")
    @classmethod
    def _holders(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, hashes in value.items():
            if not is_turn_object_name(name):
                raise ValueError("not the name of a turn object")
            _check_hashes(hashes)
        return value

    def blob_hashes(self) -> set[str]:
        return {*self.messages, *self.transcript, *self.files.values()}
