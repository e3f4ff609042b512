"""Payload offload: input, context, files, output and patch above the threshold live in S3,
not the item; a tool run's transcript always does."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from agents.awserrors import translate_aws_errors
from agents.errors import ConfigurationError
from agents.records import InvocationRecord, ToolRunOutcome, is_valid_id

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

#: Payload fields are offloaded above min(configured threshold, this): three payload
#: fields at this size plus metadata stay far below DynamoDB's 400 KB item limit.
MAX_INLINE_PAYLOAD_BYTES = 120_000


class PayloadOffload:
    """Writes oversized payloads to ``s3://<bucket>/<prefix><id>/<name>`` and reads them back."""

    def __init__(
        self,
        *,
        bucket: str,
        prefix: str,
        threshold_bytes: int,
        s3: S3Client | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.threshold_bytes = min(threshold_bytes, MAX_INLINE_PAYLOAD_BYTES)
        self._s3 = s3

    @property
    def s3(self) -> S3Client:
        from agents import aws

        return aws.s3_client(self._s3)

    def exceeds_threshold(self, text: str) -> bool:
        return len(text.encode()) > self.threshold_bytes

    def offload_new(self, record: InvocationRecord) -> InvocationRecord:
        """The record with its oversized input and context replaced by ``*_ref`` pointers."""
        update: dict[str, Any] = {}
        if record.input is not None and self.exceeds_threshold(record.input):
            update["input_ref"] = self.write(record.id, "input.txt", record.input, "text/plain")
            update["input"] = None
        if record.context is not None:
            text = json.dumps(record.context, ensure_ascii=False, separators=(",", ":"))
            if self.exceeds_threshold(text):
                update["context_ref"] = self.write(
                    record.id, "context.json", text, "application/json"
                )
                update["context"] = None
        if record.files is not None:
            text = json.dumps(record.files, ensure_ascii=False, separators=(",", ":"))
            if self.exceeds_threshold(text):
                update["files_ref"] = self.write(record.id, "files.json", text, "application/json")
                update["files"] = None
        return record.model_copy(update=update) if update else record

    def offload_output(self, invocation_id: str, output: str) -> str | None:
        """The ``s3://`` pointer of an oversized output (written now), else None."""
        if not self.exceeds_threshold(output):
            return None
        return self.write(invocation_id, "output.txt", output, "text/plain")

    def offload_patch(self, invocation_id: str, patch: str) -> str | None:
        """The ``s3://`` pointer of an oversized patch (written now), else None."""
        if not self.exceeds_threshold(patch):
            return None
        return self.write(invocation_id, "patch.diff", patch, "text/x-diff")

    def write_transcript(self, invocation_id: str, turns: list[dict[str, Any]]) -> str:
        """Store a tool run's transcript (``{"turns": [...]}``); its ``s3://`` pointer."""
        text = json.dumps({"turns": turns}, ensure_ascii=False, separators=(",", ":"))
        return self.write(invocation_id, "transcript.json", text, "application/json")

    def tool_run_fields(self, invocation_id: str, run: ToolRunOutcome) -> dict[str, Any]:
        """The record fields of a tool run (its transcript and a large patch written first)."""
        fields: dict[str, Any] = {
            "tool_calls": run.tool_calls,
            "tools_unavailable": run.tools_unavailable,
            "files_changed": run.files_changed,
        }
        if run.turns is not None:
            fields["turns"] = run.turns
        if run.transcript:
            fields["transcript_ref"] = self.write_transcript(invocation_id, run.transcript)
        if run.patch_ref:
            fields["patch_ref"] = run.patch_ref
        elif run.patch:
            patch_ref = self.offload_patch(invocation_id, run.patch)
            fields["patch_ref" if patch_ref else "patch"] = patch_ref or run.patch
        return fields

    def read_transcript(self, ref: str) -> list[dict[str, Any]]:
        turns: list[dict[str, Any]] = json.loads(self.read(ref))["turns"]
        return turns

    def hydrate(self, record: InvocationRecord) -> InvocationRecord:
        """Fill offloaded payloads from S3 (pointers are kept)."""
        update: dict[str, Any] = {}
        if record.input is None and record.input_ref:
            update["input"] = self.read(record.input_ref)
        if record.output is None and record.output_ref:
            update["output"] = self.read(record.output_ref)
        if record.context is None and record.context_ref:
            update["context"] = json.loads(self.read(record.context_ref))
        if record.files is None and record.files_ref:
            update["files"] = json.loads(self.read(record.files_ref))
        if record.patch is None and record.patch_ref:
            update["patch"] = self.read(record.patch_ref)
        return record.model_copy(update=update) if update else record

    def key(self, invocation_id: str, name: str) -> str:
        """The S3 key of one payload; the id is validated before any key is built."""
        if not is_valid_id(invocation_id):
            raise ValueError(f"invalid invocation id {invocation_id!r}")
        return f"{self.prefix}{invocation_id}/{name}"

    def write(self, invocation_id: str, name: str, text: str, content_type: str) -> str:
        if not self.bucket:
            raise ConfigurationError(
                "no payload bucket configured (PAYLOAD_BUCKET / AGENTS_BUCKET)"
            )
        key = self.key(invocation_id, name)
        with translate_aws_errors("s3:PutObject"):
            self.s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=text.encode(),
                ContentType=f"{content_type}; charset=utf-8",
            )
        return f"s3://{self.bucket}/{key}"

    def read(self, ref: str) -> str:
        if not ref.startswith("s3://") or "/" not in ref[5:]:
            raise ValueError(f"bad payload pointer {ref!r}")
        bucket, key = ref[5:].split("/", 1)
        with translate_aws_errors("s3:GetObject"):
            body = self.s3.get_object(Bucket=bucket, Key=key)["Body"]
            try:
                return body.read().decode()
            finally:
                body.close()
