"""A finished run's workspace in S3: the zip, each changed file, and the patch when large.

Keys (payload bucket): ``payloads/<id>/workspace.zip``, ``payloads/<id>/files/<path>``,
``payloads/<id>/workspace.patch``. ``GET /invocations/{id}/files/{path}`` and
``GET /invocations/{id}/workspace`` read them back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from agents.awserrors import error_code, translate_aws_errors
from agents.errors import ConfigurationError, NotFound
from agents.records import is_valid_id
from agents.workspace.paths import normalize_path
from agents.workspace.workspace import FileChange, Workspace

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from agents.workspace.limits import WorkspaceLimits

__all__ = [
    "INLINE_PATCH_BYTES",
    "RESULT_URL_EXPIRES_S",
    "WorkspaceResult",
    "presigned_result_zip",
    "read_result_file",
    "result_key",
    "save_result",
]

#: A patch up to this size stays on the record; larger ones are only in S3.
INLINE_PATCH_BYTES = 100_000
#: How long ``GET /invocations/{id}/workspace``'s URL stays valid.
RESULT_URL_EXPIRES_S = 900
DEFAULT_PREFIX = "payloads/"


class WorkspaceResult(BaseModel):
    """What :func:`save_result` stored, for the invocation record."""

    files_changed: list[FileChange] = Field(default_factory=list)
    #: The unified diff when at most :data:`INLINE_PATCH_BYTES`, else None (``patch_ref``).
    patch: str | None = None
    patch_ref: str | None = None
    workspace_ref: str


def result_key(invocation_id: str, name: str, *, prefix: str = DEFAULT_PREFIX) -> str:
    """The key of one result object; the id is validated before a key is built."""
    if not is_valid_id(invocation_id):
        raise ValueError(f"invalid invocation id {invocation_id!r}")
    return f"{prefix}{invocation_id}/{name}"


def _s3(s3: S3Client | None) -> S3Client:
    from agents import aws

    return aws.s3_client(s3)


def save_result(
    store_bucket: str,
    invocation_id: str,
    workspace: Workspace,
    *,
    prefix: str = DEFAULT_PREFIX,
    inline_patch_bytes: int = INLINE_PATCH_BYTES,
    s3: S3Client | None = None,
) -> WorkspaceResult:
    """Write the whole workspace as a zip, each added/modified file, and a large patch."""
    if not store_bucket:
        raise ConfigurationError("no payload bucket configured (PAYLOAD_BUCKET / AGENTS_BUCKET)")
    client = _s3(s3)

    def put(name: str, body: bytes, content_type: str) -> str:
        key = result_key(invocation_id, name, prefix=prefix)
        with translate_aws_errors("s3:PutObject"):
            client.put_object(Bucket=store_bucket, Key=key, Body=body, ContentType=content_type)
        return f"s3://{store_bucket}/{key}"

    workspace_ref = put("workspace.zip", workspace.to_zip(), "application/zip")
    for path, data in workspace.changed_files().items():
        put(f"files/{path}", data, "application/octet-stream")
    patch = workspace.patch()
    patch_ref = None
    if len(patch.encode()) > inline_patch_bytes:
        patch_ref = put("workspace.patch", patch.encode(), "text/x-diff; charset=utf-8")
    return WorkspaceResult(
        files_changed=workspace.changes(),
        patch=None if patch_ref else patch,
        patch_ref=patch_ref,
        workspace_ref=workspace_ref,
    )


def read_result_file(
    store_bucket: str,
    invocation_id: str,
    path: str,
    limits: WorkspaceLimits,
    *,
    prefix: str = DEFAULT_PREFIX,
    s3: S3Client | None = None,
) -> bytes:
    """One changed file of a finished run; :class:`NotFound` when the run did not write it.

    The caller has checked that the invocation is the tenant's.
    """
    from botocore.exceptions import ClientError

    name = normalize_path(path, limits)
    key = result_key(invocation_id, f"files/{name}", prefix=prefix)
    try:
        with translate_aws_errors("s3:GetObject"):
            body = _s3(s3).get_object(Bucket=store_bucket, Key=key)["Body"]
            try:
                return body.read()
            finally:
                body.close()
    except ClientError as exc:
        if error_code(exc) not in {"404", "NoSuchKey"}:
            raise
        raise NotFound(f"the invocation changed no file {name!r}") from None


def presigned_result_zip(
    store_bucket: str,
    invocation_id: str,
    *,
    prefix: str = DEFAULT_PREFIX,
    s3: S3Client | None = None,
) -> str:
    """A presigned GET of the run's ``workspace.zip`` (HeadObject first: 404 when absent)."""
    from botocore.exceptions import ClientError

    client = _s3(s3)
    key = result_key(invocation_id, "workspace.zip", prefix=prefix)
    try:
        with translate_aws_errors("s3:HeadObject"):
            client.head_object(Bucket=store_bucket, Key=key)
    except ClientError as exc:
        if error_code(exc) not in {"404", "NoSuchKey", "NotFound"}:
            raise
        raise NotFound("the invocation has no workspace result") from None
    return client.generate_presigned_url(
        "get_object",
        Params={"Bucket": store_bucket, "Key": key},
        ExpiresIn=RESULT_URL_EXPIRES_S,
    )
