"""Uploaded workspaces: ``POST /workspaces`` hands out a presigned PUT; runs load the archive.

The object is ``s3://<payload bucket>/workspaces/<tenant-hash>/<ws_id>``: the tenant is part
of the key, so an id is useless to another caller. Loading checks the size with HeadObject
before reading a byte, then the archive (:mod:`agents.workspace.archives`).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from agents.awserrors import error_code, translate_aws_errors
from agents.container import per_container
from agents.errors import (
    ConfigurationError,
    WorkspaceLimitExceeded,
    WorkspaceNotFound,
)
from agents.workspace.limits import WorkspaceLimits
from agents.workspace.workspace import Workspace

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from agents.config import Settings

__all__ = [
    "UPLOAD_EXPIRES_S",
    "WORKSPACE_ID_PATTERN",
    "WORKSPACE_PREFIX",
    "WorkspaceUpload",
    "WorkspaceUploads",
    "get_uploads",
    "is_workspace_id",
    "new_workspace_id",
]

WORKSPACE_PREFIX = "workspaces/"
#: ``ws_`` + 26 lower-case base32hex characters (130 random bits).
WORKSPACE_ID_PATTERN = r"^ws_[0-9a-v]{26}$"
_WORKSPACE_ID_RE = re.compile(WORKSPACE_ID_PATTERN)
#: How long a presigned upload URL is valid.
UPLOAD_EXPIRES_S = 900


def new_workspace_id() -> str:
    encoded = base64.b32hexencode(secrets.token_bytes(17)).decode().lower()
    return "ws_" + encoded[:26]


def is_workspace_id(value: str) -> bool:
    return bool(_WORKSPACE_ID_RE.match(value))


def tenant_hash(tenant: str) -> str:
    """The tenant's key segment (a hash: tenant ids may hold ARNs and slashes)."""
    return hashlib.sha256(tenant.encode()).hexdigest()[:32]


class WorkspaceUpload(BaseModel):
    """``POST /workspaces`` answer: PUT the ``.zip`` or ``.tar.gz`` to ``upload_url``."""

    id: str = Field(description="Pass as `workspace` in `POST /agents/{name}/invocations`.")
    upload_url: str = Field(description="Presigned S3 PUT URL (send the archive as the body).")
    expires_in: int = Field(description="Seconds the upload URL stays valid.")
    max_bytes: int = Field(description="The largest archive a run accepts.")


class WorkspaceUploads:
    """Presigned uploads and loads of workspace archives in the payload bucket."""

    def __init__(self, *, bucket: str, limits: WorkspaceLimits, s3: S3Client | None = None) -> None:
        self.bucket = bucket
        self.limits = limits
        self._s3 = s3

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkspaceUploads:
        return cls(
            bucket=settings.effective_payload_bucket,
            limits=WorkspaceLimits.from_settings(settings),
        )

    @property
    def s3(self) -> S3Client:
        from agents import aws

        return aws.s3_client(self._s3)

    @property
    def max_bytes(self) -> int:
        """The largest archive accepted (its content is bounded again when unpacked)."""
        return self.limits.max_total_bytes

    def key(self, tenant: str, workspace_id: str) -> str:
        if not is_workspace_id(workspace_id):
            raise WorkspaceNotFound(f"{workspace_id[:40]!r} is not a workspace id (ws_...)")
        return f"{WORKSPACE_PREFIX}{tenant_hash(tenant)}/{workspace_id}"

    def create(self, tenant: str) -> WorkspaceUpload:
        """A new workspace id and the presigned PUT that uploads its archive."""
        self._require_bucket()
        workspace_id = new_workspace_id()
        url = self.s3.generate_presigned_url(
            "put_object",
            Params={"Bucket": self.bucket, "Key": self.key(tenant, workspace_id)},
            ExpiresIn=UPLOAD_EXPIRES_S,
        )
        return WorkspaceUpload(
            id=workspace_id, upload_url=url, expires_in=UPLOAD_EXPIRES_S, max_bytes=self.max_bytes
        )

    def check(self, tenant: str, workspace_id: str) -> int:
        """The archive's size (HeadObject): 404 ``workspace-not-found``, 413 past max_bytes."""
        self._require_bucket()
        key = self.key(tenant, workspace_id)
        from botocore.exceptions import ClientError

        try:
            with translate_aws_errors("s3:HeadObject"):
                head = self.s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) not in {"404", "NoSuchKey", "NotFound"}:
                raise
            raise WorkspaceNotFound(
                f"workspace {workspace_id} has not been uploaded (or has expired)"
            ) from None
        size = int(head["ContentLength"])
        if size > self.max_bytes:
            raise WorkspaceLimitExceeded(
                f"the uploaded archive is {size} bytes; the limit is {self.max_bytes}",
                limit=self.max_bytes,
            )
        return size

    def load(self, tenant: str, workspace_id: str) -> Workspace:
        """The checked workspace of an uploaded archive (size first, then every entry)."""
        self.check(tenant, workspace_id)
        key = self.key(tenant, workspace_id)
        with translate_aws_errors("s3:GetObject"):
            body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"]
            try:
                data = body.read(self.max_bytes + 1)
            finally:
                body.close()
        if len(data) > self.max_bytes:  # replaced between HeadObject and GetObject
            raise WorkspaceLimitExceeded(
                f"the uploaded archive is over {self.max_bytes} bytes", limit=self.max_bytes
            )
        return Workspace.from_archive(data, self.limits)

    def stage(self, tenant: str, workspace: Workspace) -> str:
        """Store ``workspace`` as a new uploaded workspace (inline files of a queued run)."""
        self._require_bucket()
        workspace_id = new_workspace_id()
        with translate_aws_errors("s3:PutObject"):
            self.s3.put_object(
                Bucket=self.bucket,
                Key=self.key(tenant, workspace_id),
                Body=workspace.to_zip(),
                ContentType="application/zip",
            )
        return workspace_id

    def _require_bucket(self) -> None:
        if not self.bucket:
            raise ConfigurationError(
                "no payload bucket configured (PAYLOAD_BUCKET / AGENTS_BUCKET)"
            )


@per_container
def get_uploads() -> WorkspaceUploads:
    """The container's uploads service, from settings."""
    from agents.config import get_settings

    return WorkspaceUploads.from_settings(get_settings())
