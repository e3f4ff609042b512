"""The event log in DynamoDB: gapless appends by several writers, reads after a sequence
number, and the long-poll (docs/decisions.md 16.1-16.6).

Items: ``invocation_id`` (hash, S), ``seq`` (range, N), ``type``, ``at``, ``data`` (a JSON
string), ``expires_at`` (the TTL: the invocation's own, so the log goes with its record).

An append numbers its events ``last + 1 ... last + n`` and writes them in one call, each put
conditional on ``attribute_not_exists(seq)``: one ``PutItem`` for one event, else one
``TransactWriteItems`` (all or nothing). ``last`` is the writer's own last seq for this
invocation (a bounded per-container hint) or, without one, the log's tail (one strongly
consistent ``Query``). When another writer took a number first the condition fails, and the
append reads the tail again and retries. The log is therefore always ``1..M`` with no gaps
and no duplicates: a number is only written when every number below it exists (it was read,
strongly consistently, or written by this writer) and never twice (the condition).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from agents.awserrors import translate_aws_errors
from agents.errors import ConfigurationError, ServiceUnavailable
from agents.events.model import EventDraft, EventType, RunEvent
from agents.records import iso_ms, utc_now

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "MAX_APPEND_ATTEMPTS",
    "MAX_EVENTS_PER_WRITE",
    "MAX_READ_LIMIT",
    "MAX_WAIT_SECONDS",
    "EventLog",
    "EventLogContention",
]

#: TransactWriteItems takes at most 100 items; a larger append is several all-or-nothing writes.
MAX_EVENTS_PER_WRITE = 100
#: Attempts of one write when other writers keep taking the next numbers.
MAX_APPEND_ATTEMPTS = 12
#: A page of events.
MAX_READ_LIMIT = 500
#: The longest long-poll (the API's 29 s integration timeout leaves room for the rest).
MAX_WAIT_SECONDS = 20.0
#: The long-poll's first pause between reads, its growth and its ceiling (seconds). The
#: ceiling bounds how late a waiting reader sees new events (decision 16.5).
POLL_FIRST_S = 0.1
POLL_GROWTH = 1.5
POLL_MAX_S = 0.5
#: Cancellation reasons of a transaction that lost a race (anything else is an error).
_RACE_REASONS = frozenset({"None", "ConditionalCheckFailed", "TransactionConflict"})
#: Invocations whose last seq a log remembers (the writer's hint).
HINT_CAPACITY = 1024


class EventLogContention(ServiceUnavailable):
    """Other writers took the next numbers ``MAX_APPEND_ATTEMPTS`` times in a row."""


class EventLog:
    """One invocation log per partition of the events table."""

    def __init__(
        self,
        table: str,
        *,
        retention_days: int,
        dynamodb: DynamoDBClient | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not table:
            raise ConfigurationError("the events table is not configured (EVENTS_TABLE)")
        self.table = table
        self.retention_days = retention_days
        self._dynamodb = dynamodb
        self._sleep = sleep
        self._clock = clock
        self._hints: OrderedDict[str, int] = OrderedDict()
        self._hints_lock = threading.Lock()

    @property
    def dynamodb(self) -> DynamoDBClient:
        if self._dynamodb is not None:
            return self._dynamodb
        from agents import aws

        return aws.client("dynamodb")

    # --- writes ----------------------------------------------------------------------

    def append(
        self,
        invocation_id: str,
        drafts: Sequence[EventDraft],
        *,
        expires_at: int | None = None,
        new_log: bool = False,
    ) -> int:
        """Append ``drafts`` in order; the seq of the last one (0 when there were none).

        ``new_log``: the caller just created the invocation, so its log is empty (saves the
        tail read; a wrong guess only costs a retry). Raises ``EventLogContention`` after
        ``MAX_APPEND_ATTEMPTS`` lost races, ``ServiceUnavailable`` on a transient AWS error.
        """
        if not drafts:
            return 0
        if expires_at is None:
            expires_at = int(utc_now()) + self.retention_days * 86_400
        last = 0 if new_log else self._hint(invocation_id)
        for start in range(0, len(drafts), MAX_EVENTS_PER_WRITE):
            chunk = drafts[start : start + MAX_EVENTS_PER_WRITE]
            last = self._append_chunk(invocation_id, chunk, expires_at, last)
        return last or 0

    def _append_chunk(
        self, invocation_id: str, chunk: Sequence[EventDraft], expires_at: int, last: int | None
    ) -> int:
        for attempt in range(MAX_APPEND_ATTEMPTS):
            if last is None:
                last = self.last_seq(invocation_id)
            at = iso_ms(utc_now())
            items = [
                _item(invocation_id, last + offset, draft, at, expires_at)
                for offset, draft in enumerate(chunk, start=1)
            ]
            if self._put_all(items):
                last += len(chunk)
                self._remember(invocation_id, last)
                return last
            last = None
            self._sleep(random.uniform(0, min(0.2, 0.005 * 2**attempt)))  # noqa: S311 - jitter
        raise EventLogContention(
            f"could not append to the event log of {invocation_id}: "
            f"{MAX_APPEND_ATTEMPTS} writers in a row took the next numbers first",
            invocation_id=invocation_id,
        )

    def _put_all(self, items: list[dict[str, Any]]) -> bool:
        """Write ``items`` (all or none), each only if its seq is free; False on a taken seq."""
        dynamodb = self.dynamodb
        condition = "attribute_not_exists(seq)"
        if len(items) == 1:
            try:
                with translate_aws_errors("dynamodb:PutItem"):
                    dynamodb.put_item(
                        TableName=self.table, Item=items[0], ConditionExpression=condition
                    )
            except dynamodb.exceptions.ConditionalCheckFailedException:
                return False
            return True
        try:
            with translate_aws_errors("dynamodb:TransactWriteItems"):
                dynamodb.transact_write_items(
                    TransactItems=[
                        {
                            "Put": {
                                "TableName": self.table,
                                "Item": item,
                                "ConditionExpression": condition,
                            }
                        }
                        for item in items
                    ]
                )
        except dynamodb.exceptions.TransactionConflictException:
            return False  # a concurrent transaction on the same items: read the tail again
        except dynamodb.exceptions.TransactionCanceledException as exc:
            reasons = {
                str(reason.get("Code") or "None")
                for reason in exc.response.get("CancellationReasons") or []
            }
            if reasons - _RACE_REASONS:
                raise ServiceUnavailable(
                    f"the event log write was cancelled ({', '.join(sorted(reasons))})"
                ) from exc
            return False  # a taken seq: read the tail and try again
        return True

    # --- reads -----------------------------------------------------------------------

    def last_seq(self, invocation_id: str) -> int:
        """The log's last seq (0: empty); one strongly consistent Query."""
        with translate_aws_errors("dynamodb:Query"):
            response = self.dynamodb.query(
                TableName=self.table,
                KeyConditionExpression="invocation_id = :id",
                ExpressionAttributeValues={":id": {"S": invocation_id}},
                ProjectionExpression="seq",
                ScanIndexForward=False,
                Limit=1,
                ConsistentRead=True,
            )
        items = response.get("Items") or []
        return int(items[0]["seq"]["N"]) if items else 0

    def read(self, invocation_id: str, *, after: int = 0, limit: int = 100) -> list[RunEvent]:
        """Up to ``limit`` events with ``seq > after``, in order (strongly consistent)."""
        limit = max(1, min(limit, MAX_READ_LIMIT))
        with translate_aws_errors("dynamodb:Query"):
            response = self.dynamodb.query(
                TableName=self.table,
                KeyConditionExpression="invocation_id = :id AND seq > :after",
                ExpressionAttributeValues={
                    ":id": {"S": invocation_id},
                    ":after": {"N": str(max(0, after))},
                },
                Limit=limit,
                ConsistentRead=True,
            )
        return [_event(item) for item in response.get("Items") or []]

    def wait(
        self,
        invocation_id: str,
        *,
        after: int = 0,
        limit: int = 100,
        wait_s: float = 0.0,
        settled: Callable[[], bool] | None = None,
    ) -> list[RunEvent]:
        """:meth:`read`, long-polling up to ``wait_s`` seconds (at most ``MAX_WAIT_SECONDS``)
        until at least one event is there. It reads at once, then after pauses of 0.1 s
        growing to 0.5 s. ``settled()`` true ends the wait early (nothing more will come)."""
        deadline = self._clock() + max(0.0, min(wait_s, MAX_WAIT_SECONDS))
        pause = POLL_FIRST_S
        while True:
            events = self.read(invocation_id, after=after, limit=limit)
            remaining = deadline - self._clock()
            if events or remaining <= 0 or (settled is not None and settled()):
                return events
            self._sleep(min(pause, remaining))
            pause = min(pause * POLL_GROWTH, POLL_MAX_S)

    # --- the writer's hint -----------------------------------------------------------

    def _hint(self, invocation_id: str) -> int | None:
        with self._hints_lock:
            return self._hints.get(invocation_id)

    def _remember(self, invocation_id: str, last: int) -> None:
        with self._hints_lock:
            if self._hints.get(invocation_id, 0) > last:
                return  # another thread of this container wrote further already
            self._hints[invocation_id] = last
            self._hints.move_to_end(invocation_id)
            while len(self._hints) > HINT_CAPACITY:
                self._hints.popitem(last=False)


def _item(
    invocation_id: str, seq: int, draft: EventDraft, at: str, expires_at: int
) -> dict[str, Any]:
    return {
        "invocation_id": {"S": invocation_id},
        "seq": {"N": str(seq)},
        "type": {"S": draft.type.value},
        "at": {"S": at},
        "data": {"S": json.dumps(draft.data, separators=(",", ":"), ensure_ascii=False)},
        "expires_at": {"N": str(expires_at)},
    }


def _event(item: dict[str, Any]) -> RunEvent:
    data = json.loads(item.get("data", {}).get("S") or "{}")
    return RunEvent(
        seq=int(item["seq"]["N"]),
        type=EventType(item["type"]["S"]),
        at=item.get("at", {}).get("S", ""),
        data=data if isinstance(data, dict) else {},
    )
