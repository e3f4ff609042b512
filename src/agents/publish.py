"""Publish definitions to the agents bucket (``agw agents push``, ``agw dev``, tests, bench).

Lint first; refuse everything when any file has an error. Each definition is
stored as ``<prefix><name>.md`` (the frontmatter name, whatever the local file
is called) with content type ``text/markdown``. An object whose ETag already
equals the file's MD5 is left alone, so re-pushing does not mint versions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents.config import Settings
from agents.definition_lint import LintedFile, LintReport, lint_paths
from agents.errors import GatewayError
from agents.names import s3_key_for

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

CONTENT_TYPE = "text/markdown; charset=utf-8"


@dataclass(frozen=True)
class Pushed:
    path: str
    name: str
    version: str | None
    key: str
    etag: str
    version_id: str | None
    uploaded: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "name": self.name,
            "version": self.version,
            "key": self.key,
            "etag": self.etag,
            "version_id": self.version_id,
            "uploaded": self.uploaded,
        }


def _current_etag(s3: S3Client, bucket: str, key: str) -> str | None:
    from botocore.exceptions import ClientError

    try:
        return s3.head_object(Bucket=bucket, Key=key)["ETag"]
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in {"404", "NoSuchKey", "NotFound"}:
            return None
        raise


def push_paths(
    paths: Sequence[str | Path],
    bucket: str,
    prefix: str = "agents/",
    *,
    s3: S3Client | None = None,
    settings: Settings | None = None,
    force: bool = False,
) -> tuple[LintReport, list[Pushed]]:
    """Lint ``paths``; when clean of errors, upload each definition.

    Returns the lint report and what was pushed (nothing when lint failed).
    """
    report = lint_paths(paths, settings, duplicates="error")
    if not report.ok:
        return report, []
    if s3 is None:
        from agents import aws

        s3 = aws.client("s3")
    from botocore.exceptions import BotoCoreError, ClientError

    pushed: list[Pushed] = []
    for item in report.files:
        try:
            pushed.append(_push_one(s3, item, bucket, prefix, force=force))
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "error")
            done = f" ({len(pushed)} pushed before it)" if pushed else ""
            raise GatewayError(f"cannot push {item.path} to s3://{bucket}: {code}{done}") from exc
        except BotoCoreError as exc:
            raise GatewayError(f"cannot push {item.path} to s3://{bucket}: {exc}") from exc
    return report, pushed


def _push_one(s3: S3Client, item: LintedFile, bucket: str, prefix: str, *, force: bool) -> Pushed:
    definition = item.definition
    assert definition is not None  # lint passed: every file parsed
    key = s3_key_for(prefix, definition.name)
    digest = '"' + hashlib.md5(item.data, usedforsecurity=False).hexdigest() + '"'
    if not force and _current_etag(s3, bucket, key) == digest:
        return Pushed(item.path, definition.name, definition.version, key, digest, None, False)
    metadata = {"agent-name": definition.name}
    if definition.version:
        metadata["agent-version"] = definition.version
    response = s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=item.data,
        ContentType=CONTENT_TYPE,
        Metadata=metadata,
    )
    return Pushed(
        item.path,
        definition.name,
        definition.version,
        key,
        response.get("ETag", ""),
        response.get("VersionId"),
        True,
    )
