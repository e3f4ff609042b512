"""Checkpoints in S3: content-addressed blobs plus one manifest per turn.

Keys (payload bucket): ``<prefix><id>/checkpoint/blobs/<sha256>`` and
``<prefix><id>/checkpoint/turn-<nnnnn>[-open].json``. The invocation id is validated and
every hash checked before a key is built. :class:`CheckpointStore` remembers the hashes it
has written or read, so a turn uploads only what is new (decision 15.3).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agents.awserrors import translate_aws_errors
from agents.checkpoints.state import (
    MAX_BLOB_BYTES,
    MAX_MANIFEST_BYTES,
    CheckpointState,
    Manifest,
    blob_hash,
    canonical_json,
    is_blob_hash,
)
from agents.crash_points import crash_point
from agents.errors import ConfigurationError, PayloadTooLarge
from agents.records import is_valid_id

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from agents.workspace import Workspace

__all__ = ["CheckpointStore", "LoadedCheckpoint"]


@dataclass(frozen=True)
class LoadedCheckpoint:
    """A checkpoint read back: the loop state and the workspace changes to replay."""

    state: CheckpointState
    files: dict[str, bytes]
    deleted: list[str]


@dataclass
class CheckpointStore:
    """One invocation's checkpoints (build one per run; it is not shared between runs)."""

    bucket: str
    prefix: str
    invocation_id: str
    s3: S3Client | None = None
    #: Hashes known to be in S3 (written by this run or listed by the manifest it loaded).
    known: set[str] = field(default_factory=set)
    #: Blobs this store uploaded (tests and logs).
    uploaded: int = 0

    def __post_init__(self) -> None:
        if not is_valid_id(self.invocation_id):
            raise ValueError(f"invalid invocation id {self.invocation_id!r}")
        if not self.bucket:
            raise ConfigurationError(
                "no payload bucket configured (PAYLOAD_BUCKET / AGENTS_BUCKET)"
            )

    @property
    def client(self) -> S3Client:
        from agents import aws

        return aws.s3_client(self.s3)

    # --- keys ---------------------------------------------------------------------

    @property
    def base(self) -> str:
        return f"{self.prefix}{self.invocation_id}/checkpoint/"

    def blob_key(self, digest: str) -> str:
        if not is_blob_hash(digest):
            raise ValueError(f"bad blob hash {digest!r}")
        return f"{self.base}blobs/{digest}"

    def manifest_key(self, turn: int, *, open_turn: bool) -> str:
        return f"{self.base}turn-{int(turn):05d}{'-open' if open_turn else ''}.json"

    # --- write --------------------------------------------------------------------

    def save(self, state: CheckpointState, workspace: Workspace | None) -> str:
        """Upload the new blobs of ``state`` (and the workspace's changes), then its manifest;
        returns the manifest's key."""
        messages = [self._put_blob(canonical_json(message)) for message in state.messages]
        transcript = [self._put_blob(canonical_json(turn)) for turn in state.transcript]
        files: dict[str, str] = {}
        deleted: list[str] = []
        if workspace is not None:
            current = workspace.changed_files()
            for change in workspace.changes():
                if change.change == "deleted":
                    deleted.append(change.path)
                else:
                    files[change.path] = self._put_blob(current[change.path])
        manifest = Manifest(
            invocation_id=self.invocation_id,
            turn=state.turn,
            messages=messages,
            transcript=transcript,
            files=files,
            deleted=deleted,
            state=state.model_dump(mode="json", exclude={"messages", "transcript"}),
        )
        body = manifest.model_dump_json().encode()
        if len(body) > MAX_MANIFEST_BYTES:
            raise PayloadTooLarge(
                f"the checkpoint manifest would be {len(body)} bytes; the limit is "
                f"{MAX_MANIFEST_BYTES}"
            )
        key = self.manifest_key(state.turn, open_turn=state.open_calls is not None)
        with translate_aws_errors("s3:PutObject"):
            self.client.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType="application/json"
            )
        return key

    def _put_blob(self, data: bytes) -> str:
        if len(data) > MAX_BLOB_BYTES:
            raise PayloadTooLarge(
                f"a checkpoint blob would be {len(data)} bytes; the limit is {MAX_BLOB_BYTES}"
            )
        digest = blob_hash(data)
        if digest in self.known:
            return digest
        with translate_aws_errors("s3:PutObject"):
            self.client.put_object(Bucket=self.bucket, Key=self.blob_key(digest), Body=data)
        self.known.add(digest)
        self.uploaded += 1
        crash_point("mid-upload", self.uploaded)
        return digest

    # --- read ---------------------------------------------------------------------

    def load(self, key: str) -> LoadedCheckpoint:
        """The checkpoint whose manifest is ``key`` (must lie under this invocation)."""
        if not key.startswith(self.base) or ".." in key:
            raise ValueError(f"checkpoint {key!r} is not one of invocation {self.invocation_id}")
        manifest = Manifest.model_validate_json(self._get(key, MAX_MANIFEST_BYTES))
        if manifest.invocation_id != self.invocation_id:
            raise ValueError(f"checkpoint {key!r} belongs to another invocation")
        messages = [self._get_json(digest) for digest in manifest.messages]
        transcript = [self._get_json(digest) for digest in manifest.transcript]
        files = {path: self._get_blob(digest) for path, digest in manifest.files.items()}
        state = CheckpointState.model_validate(
            {**manifest.state, "messages": messages, "transcript": transcript}
        )
        self.known |= manifest.blob_hashes()
        return LoadedCheckpoint(state=state, files=files, deleted=list(manifest.deleted))

    def _get_json(self, digest: str) -> Any:
        return json.loads(self._get_blob(digest))

    def _get_blob(self, digest: str) -> bytes:
        data = self._get(self.blob_key(digest), MAX_BLOB_BYTES)
        if blob_hash(data) != digest:
            raise ValueError(f"checkpoint blob {digest} does not match its hash")
        return data

    def _get(self, key: str, limit: int) -> bytes:
        with translate_aws_errors("s3:GetObject"):
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
            try:
                data = body.read(limit + 1)
            finally:
                body.close()
        if len(data) > limit:
            raise PayloadTooLarge(f"checkpoint object {key} is over {limit} bytes")
        return data
