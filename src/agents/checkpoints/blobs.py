"""Checkpoints in S3: one turn object per checkpoint, carrying the turn's new blobs inline.

Keys (payload bucket): ``<prefix><id>/checkpoint/turn-<nnnnn>[-open]-<sha256>.json`` (the
turn object, named by the hash of its bytes) and ``<prefix><id>/checkpoint/blobs/<sha256>``
(a blob too large to go inline). The invocation id is validated and every hash and turn
object name checked before a key is built; every blob read is checked against its hash.
:class:`CheckpointStore` remembers where each blob it wrote or read lives, so a turn writes
only what is new: one PutObject in the common case (decisions 15.3, 15.70-15.79).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from agents.awserrors import translate_aws_errors
from agents.checkpoints.state import (
    MAX_BLOB_BYTES,
    MAX_INLINE_BLOB_BYTES,
    MAX_INLINE_BYTES,
    MAX_INLINE_FILE_BYTES,
    MAX_MANIFEST_BYTES,
    CheckpointState,
    Manifest,
    blob_hash,
    canonical_json,
    is_blob_hash,
    is_turn_object_name,
    turn_object_digest,
    turn_object_name,
)
from agents.crash_points import crash_point
from agents.errors import ConfigurationError, PayloadTooLarge
from agents.records import is_valid_id

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from agents.workspace import Workspace

__all__ = ["OWN_OBJECT", "CheckpointStore", "LoadedCheckpoint"]

#: Where a blob lives when it is not inline in a turn object: ``checkpoint/blobs/<hash>``.
OWN_OBJECT: Final = ""


@dataclass(frozen=True)
class LoadedCheckpoint:
    """A checkpoint read back: the loop state and the workspace changes to replay."""

    state: CheckpointState
    files: dict[str, bytes]
    deleted: list[str]


@dataclass
class _NewBlobs:
    """The blobs one turn object carries inline, and their bytes so far."""

    json: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    size: int = 0

    def __contains__(self, digest: str) -> bool:
        return digest in self.json or digest in self.files

    def fits(self, size: int) -> bool:
        return self.size + size <= MAX_INLINE_BYTES


@dataclass(frozen=True)
class _InlineBlobs:
    """The inline blobs of one turn object read back, each checked against its hash."""

    name: str
    json: dict[str, Any]
    files: dict[str, bytes]

    @classmethod
    def of(cls, name: str, manifest: Manifest) -> _InlineBlobs:
        for digest, value in manifest.blobs.items():
            if blob_hash(canonical_json(value)) != digest:
                raise ValueError(f"checkpoint blob {digest} in {name} does not match its hash")
        files: dict[str, bytes] = {}
        for digest, encoded in manifest.file_blobs.items():
            data = base64.b64decode(encoded, validate=True)
            if blob_hash(data) != digest:
                raise ValueError(f"checkpoint file {digest} in {name} does not match its hash")
            files[digest] = data
        return cls(name, dict(manifest.blobs), files)

    def json_value(self, digest: str) -> Any:
        if digest in self.json:
            return self.json[digest]
        return json.loads(self.file_bytes(digest))

    def file_bytes(self, digest: str) -> bytes:
        if digest in self.files:
            return self.files[digest]
        if digest in self.json:
            return canonical_json(self.json[digest])  # same hash, same bytes
        raise ValueError(f"checkpoint turn object {self.name} does not hold blob {digest}")


@dataclass
class CheckpointStore:
    """One invocation's checkpoints (build one per run; it is not shared between runs)."""

    bucket: str
    prefix: str
    invocation_id: str
    s3: S3Client | None = None
    #: Where each blob known to be in S3 lives (written by this run or named by the
    #: checkpoint it loaded): the name of the turn object holding it, or :data:`OWN_OBJECT`.
    located: dict[str, str] = field(default_factory=dict)
    #: S3 objects this store wrote: turn objects and blobs of their own (tests and logs).
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

    def turn_object_key(self, name: str, *, version_1: bool = False) -> str:
        if not is_turn_object_name(name, version_1=version_1):
            raise ValueError(f"bad checkpoint turn object name {name!r}")
        return f"{self.base}{name}"

    # --- write --------------------------------------------------------------------

    def save(self, state: CheckpointState, workspace: Workspace | None) -> str:
        """Write the checkpoint of ``state`` (and the workspace's changes): blobs too large
        to go inline first, then the turn object; returns the turn object's key."""
        new = _NewBlobs()
        messages = [self._place_json(message, new) for message in state.messages]
        transcript = [self._place_json(turn, new) for turn in state.transcript]
        files: dict[str, str] = {}
        deleted: list[str] = []
        if workspace is not None:
            current = workspace.changed_files()
            for change in workspace.changes():
                if change.change == "deleted":
                    deleted.append(change.path)
                else:
                    files[change.path] = self._place_file(current[change.path], new)
        # The turn's blobs of their own are in S3; its turn object is not.
        crash_point("mid-upload", state.turn)
        manifest = Manifest(
            invocation_id=self.invocation_id,
            turn=state.turn,
            messages=messages,
            transcript=transcript,
            files=files,
            deleted=deleted,
            state=state.model_dump(mode="json", exclude={"messages", "transcript"}),
            blobs=new.json,
            file_blobs=new.files,
            held_by=self._held_by([*messages, *transcript, *files.values()], new),
        )
        body = manifest.model_dump_json().encode()
        if len(body) > MAX_MANIFEST_BYTES:
            raise PayloadTooLarge(
                f"the checkpoint's turn object would be {len(body)} bytes; the limit is "
                f"{MAX_MANIFEST_BYTES}"
            )
        name = turn_object_name(state.turn, open_turn=state.open_calls is not None, body=body)
        key = self.turn_object_key(name)
        self._put(key, body, content_type="application/json")
        for digest in (*new.json, *new.files):
            self.located[digest] = name
        return key

    def _place_json(self, value: Any, new: _NewBlobs) -> str:
        data = canonical_json(value)
        digest = self._digest(data)
        if digest in self.located or digest in new:
            return digest
        if len(data) <= MAX_INLINE_BLOB_BYTES and new.fits(len(data)):
            new.json[digest] = value
            new.size += len(data)
        else:
            self._put_blob(digest, data)
        return digest

    def _place_file(self, data: bytes, new: _NewBlobs) -> str:
        digest = self._digest(data)
        if digest in self.located or digest in new:
            return digest
        encoded_size = 4 * ((len(data) + 2) // 3)
        if len(data) <= MAX_INLINE_FILE_BYTES and new.fits(encoded_size):
            new.files[digest] = base64.b64encode(data).decode("ascii")
            new.size += encoded_size
        else:
            self._put_blob(digest, data)
        return digest

    @staticmethod
    def _digest(data: bytes) -> str:
        if len(data) > MAX_BLOB_BYTES:
            raise PayloadTooLarge(
                f"a checkpoint blob would be {len(data)} bytes; the limit is {MAX_BLOB_BYTES}"
            )
        return blob_hash(data)

    def _held_by(self, hashes: list[str], new: _NewBlobs) -> dict[str, list[str]]:
        """Earlier turn object -> the hashes of ``hashes`` it holds (each hash once)."""
        held: dict[str, list[str]] = {}
        for digest in dict.fromkeys(hashes):
            holder = self.located.get(digest, OWN_OBJECT)
            if holder != OWN_OBJECT and digest not in new:
                held.setdefault(holder, []).append(digest)
        return held

    def _put_blob(self, digest: str, data: bytes) -> None:
        self._put(self.blob_key(digest), data)
        self.located[digest] = OWN_OBJECT

    def _put(
        self, key: str, body: bytes, *, content_type: str = "application/octet-stream"
    ) -> None:
        with translate_aws_errors("s3:PutObject"):
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)
        self.uploaded += 1

    # --- read ---------------------------------------------------------------------

    def load(self, key: str) -> LoadedCheckpoint:
        """The checkpoint whose turn object is ``key`` (must lie under this invocation). Each
        earlier turn object it refers to is read once; blobs of their own one by one."""
        name = key[len(self.base) :] if key.startswith(self.base) else ""
        if not is_turn_object_name(name, version_1=True):
            raise ValueError(f"checkpoint {key!r} is not one of invocation {self.invocation_id}")
        manifest = self._read_turn_object(name)
        holders = {digest: name for digest in (*manifest.blobs, *manifest.file_blobs)}
        for older, hashes in manifest.held_by.items():
            holders.update(dict.fromkeys(hashes, older))
        objects = {name: _InlineBlobs.of(name, manifest)}

        def holder_of(digest: str) -> _InlineBlobs | None:
            holder = holders.get(digest)
            if holder is None:
                return None
            if holder not in objects:
                objects[holder] = _InlineBlobs.of(holder, self._read_turn_object(holder))
            return objects[holder]

        def json_blob(digest: str) -> Any:
            inline = holder_of(digest)
            return (
                json.loads(self._get_blob(digest)) if inline is None else inline.json_value(digest)
            )

        def file_blob(digest: str) -> bytes:
            inline = holder_of(digest)
            return self._get_blob(digest) if inline is None else inline.file_bytes(digest)

        messages = [json_blob(digest) for digest in manifest.messages]
        transcript = [json_blob(digest) for digest in manifest.transcript]
        files = {path: file_blob(digest) for path, digest in manifest.files.items()}
        state = CheckpointState.model_validate(
            {**manifest.state, "messages": messages, "transcript": transcript}
        )
        for digest in manifest.blob_hashes():
            self.located[digest] = holders.get(digest, OWN_OBJECT)
        return LoadedCheckpoint(state=state, files=files, deleted=list(manifest.deleted))

    def _read_turn_object(self, name: str) -> Manifest:
        """A turn object (its bytes checked against the hash its name promises)."""
        key = self.turn_object_key(name, version_1=True)
        data = self._get(key, MAX_MANIFEST_BYTES)
        promised = turn_object_digest(name)
        if promised is not None and blob_hash(data) != promised:
            raise ValueError(f"checkpoint turn object {name} does not match its hash")
        manifest = Manifest.model_validate_json(data)
        if manifest.invocation_id != self.invocation_id:
            raise ValueError(f"checkpoint {key!r} belongs to another invocation")
        return manifest

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
