"""Batch records (same table, ``kind = batch``) and their progress counts."""

from __future__ import annotations

import builtins
from typing import Any

from agents.awserrors import translate_aws_errors
from agents.errors import BadRequest, BatchNotFound, Conflict
from agents.record_items import batch_from_item, to_item
from agents.records import KIND_BATCH, BatchRecord, InvocationRecord, is_valid_id, iso_ms, utc_now
from agents.store.listing import BY_BATCH_INDEX, batch_listing, query_invocations
from agents.store.table import StoreTable
from agents.types import InvocationStatus

#: ``batch_counts`` reads at most this many pages (1 MB each): bounded batches only.
MAX_COUNT_PAGES = 200


class BatchRecords(StoreTable):
    """create_batch, get_batch, batch_counts, list_batch; the items-finished bookkeeping."""

    def create_batch(self, batch: BatchRecord) -> BatchRecord:
        """Store a batch record (same table, ``kind = batch``, owner in ``batch_tenant``)."""
        if not is_valid_id(batch.id):
            raise ValueError(f"invalid batch id {batch.id!r}")
        if batch.expires_at is None:
            batch = batch.model_copy(update={"expires_at": self._expires_at(utc_now())})
        if self._put_new(to_item(batch)) is not None:
            raise Conflict(f"batch {batch.id} already exists")
        return batch

    def get_batch(self, batch_id: str, tenant: str) -> BatchRecord:
        """The batch, if it is the tenant's (else ``BatchNotFound``, 404)."""
        item = self._get_item(batch_id) if is_valid_id(batch_id) else None
        if item is None or item.get("kind", {}).get("S") != KIND_BATCH:
            raise BatchNotFound(f"batch {batch_id} not found")
        batch = batch_from_item(item)
        if batch.tenant != tenant:
            raise BatchNotFound(f"batch {batch_id} not found")
        return batch

    def batch_counts(self, batch_id: str) -> dict[InvocationStatus, int]:
        """Items of the batch by status (every status present, zeros included).

        A query on ``by-batch`` projecting ``status``: the counts are derived from the
        records themselves, so they cannot drift (index reads are eventually consistent:
        a transition shows up within about a second). Bounded by ``MAX_COUNT_PAGES``.
        """
        counts = dict.fromkeys(InvocationStatus, 0)
        known = {status.value for status in InvocationStatus}
        start: dict[str, Any] | None = None
        for _ in range(MAX_COUNT_PAGES):
            params: dict[str, Any] = {
                "TableName": self.table,
                "IndexName": BY_BATCH_INDEX,
                "KeyConditionExpression": "#b = :b",
                "ProjectionExpression": "#s",
                "ExpressionAttributeNames": {"#b": "batch_id", "#s": "status"},
                "ExpressionAttributeValues": {":b": {"S": batch_id}},
            }
            if start:
                params["ExclusiveStartKey"] = start
            with translate_aws_errors("dynamodb:Query"):
                page = self.dynamodb.query(**params)
            for item in page.get("Items", []):
                raw = item.get("status", {}).get("S")
                if raw in known:
                    counts[InvocationStatus(raw)] += 1
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        else:
            raise BadRequest(f"batch {batch_id} is too large to count")
        return counts

    def list_batch(
        self,
        batch_id: str,
        tenant: str,
        *,
        status: InvocationStatus | None = None,
        limit: int = 50,
        cursor: str | None = None,
        payloads: bool = False,
    ) -> tuple[builtins.list[InvocationRecord], str | None]:
        """The batch's invocations (oldest first), only the tenant's, paginated like ``list``."""
        listing = batch_listing(batch_id, tenant=tenant, status=status)
        return query_invocations(
            self.dynamodb, self.table, listing, limit=limit, cursor=cursor, payloads=payloads
        )

    def record_item_finished(
        self, batch_id: str, invocation_id: str, *, now: float | None = None
    ) -> BatchRecord | None:
        """Note that an item ended (``ADD`` to the ``finished_items`` string set: a repeat is
        a no-op, so a redelivered event or a redriven item never counts twice).

        Returns the batch as it now stands (None for an unknown batch). It is complete when
        ``finished_items`` holds every item; whoever sees it complete with no
        ``completed_at`` announces ``batch.completed`` and then calls
        :meth:`mark_batch_announced` (a crash in between announces again, with the same
        ``webhook-id``; decision 16.55).
        """
        if not is_valid_id(batch_id) or not is_valid_id(invocation_id):
            return None
        stamp = iso_ms(utc_now() if now is None else now)
        try:
            with translate_aws_errors("dynamodb:UpdateItem"):
                updated = self.dynamodb.update_item(
                    TableName=self.table,
                    Key={"id": {"S": batch_id}},
                    UpdateExpression="ADD finished_items :item SET updated_at = :now",
                    ConditionExpression="#kind = :batch",
                    ExpressionAttributeNames={"#kind": "kind"},
                    ExpressionAttributeValues={
                        ":item": {"SS": [invocation_id]},
                        ":now": {"S": stamp},
                        ":batch": {"S": KIND_BATCH},
                    },
                    ReturnValues="ALL_NEW",
                )
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            return None
        return batch_from_item(updated["Attributes"])

    def mark_batch_announced(self, batch_id: str, *, now: float | None = None) -> bool:
        """Set ``completed_at`` once; whether this call set it."""
        stamp = iso_ms(utc_now() if now is None else now)
        try:
            with translate_aws_errors("dynamodb:UpdateItem"):
                self.dynamodb.update_item(
                    TableName=self.table,
                    Key={"id": {"S": batch_id}},
                    UpdateExpression="SET completed_at = :now",
                    ConditionExpression="attribute_exists(id)"
                    " AND attribute_not_exists(completed_at)",
                    ExpressionAttributeValues={":now": {"S": stamp}},
                )
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True
