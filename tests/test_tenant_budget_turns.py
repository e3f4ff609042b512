"""The tenant's spend cap around the turns of a tool run (``tool_runs.tenant_turn_hooks``): each
turn's spend update answers the tenant's item and the next turn's check uses it, so a run
reads the TenantsTable once; the cap still stops a run before its next model call."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import anthropic  # noqa: F401 - the SDK's first import happens before any deadline starts
import pytest

from agents import aws
from agents.errors import BudgetExceeded
from agents.executor import OutcomeStatus, execute
from agents.runner import Deadline
from agents.store import get_store
from agents.tenants import lifecycle
from agents.tenants.budget import record_spend, spend_of
from agents.tool_runs import tenant_turn_hooks
from agents.types import InvocationStatus
from bench.harness import CallCounter
from tests.plugins.stack import InvocationStack
from tests.plugins.tenants import TenantStack
from tests.resume_helpers import queue_run, six_turns
from tests.scripted_model import ScriptedModel, scripted_model

__all__ = ["scripted_model"]

pytestmark = pytest.mark.integration


@pytest.fixture
def tenant_calls(tenant_stack: TenantStack) -> CallCounter:
    """The DynamoDB calls while the test runs (``operations(table)`` counts one table's)."""
    counter = CallCounter()
    counter.attach(aws.client("dynamodb"))
    return counter


def _capped_tenant(stack: TenantStack, daily: float) -> str:
    tenant, _ = lifecycle.create_tenant(stack.table, stack.pepper, "acme")
    lifecycle.set_budget(stack.table, tenant.tenant_id, daily=daily, monthly=None)
    return tenant.tenant_id


def _capped_hooks(
    stack: TenantStack, calls: CallCounter, *, daily: float
) -> tuple[str, Callable[[int], None], Callable[[Any, float], None]]:
    """A tenant with a daily cap, its turn hooks, and the call count cleared."""
    tenant = _capped_tenant(stack, daily=daily)
    calls.clear()
    return (tenant, *tenant_turn_hooks(tenant))


def test_a_run_reads_the_tenant_once_and_stops_at_the_check_after_the_cap(
    tenant_stack: TenantStack, tenant_calls: CallCounter
) -> None:
    tenant, before, after = _capped_hooks(tenant_stack, tenant_calls, daily=1.0)
    turn_record: Any = None  # the spend hook does not look at the turn's record
    for turn in (1, 2, 3):
        before(turn)
        after(turn_record, 0.25)
    record_spend(tenant, 0.2)  # another run of the tenant, between two turns of this one
    before(4)  # 0.95 spent: under the cap
    after(turn_record, 0.1)  # the update answers 1.05, the other run's spend included
    with pytest.raises(BudgetExceeded) as exceeded:
        before(5)
    assert exceeded.value.extra["spent_usd"] == pytest.approx(1.05)
    assert tenant_calls.operations(tenant_stack.table.name) == {"GetItem": 1, "UpdateItem": 5}


def test_a_check_after_a_turn_that_wrote_nothing_reads_again(
    tenant_stack: TenantStack, tenant_calls: CallCounter
) -> None:
    tenant, before, after = _capped_hooks(tenant_stack, tenant_calls, daily=1.0)
    turn_record: Any = None
    before(1)
    after(turn_record, 0.0)  # nothing spent: no update, nothing known
    record_spend(tenant, 1.0)  # another run reaches the cap meanwhile
    with pytest.raises(BudgetExceeded):
        before(2)
    assert tenant_calls.operations(tenant_stack.table.name) == {"GetItem": 2, "UpdateItem": 1}
    before, after = tenant_turn_hooks("no-such-tenant")  # API_KEY / IAM mode: no record
    tenant_calls.clear()
    for turn in (1, 2, 3):
        before(turn)
        after(turn_record, 0.5)
    assert tenant_calls.operations(tenant_stack.table.name) == {"GetItem": 1, "UpdateItem": 3}


def test_a_six_turn_run_makes_one_tenant_read_and_one_update_per_turn(
    worker_stack: InvocationStack,
    tenant_stack: TenantStack,
    tenant_calls: CallCounter,
    scripted_model: ScriptedModel,
) -> None:
    tenant = _capped_tenant(tenant_stack, daily=100.0)
    store = get_store()
    scripted_model.script(*six_turns())
    invocation_id = queue_run(store, tenant=tenant)
    tenant_calls.clear()
    done = execute(
        invocation_id, deadline=Deadline.after_ms(30_000), owner="a", final_attempt=False
    )
    assert done.status is OutcomeStatus.SUCCEEDED, done
    assert store.get(invocation_id).turns == 6
    assert tenant_calls.operations(tenant_stack.table.name) == {"GetItem": 1, "UpdateItem": 6}
    # A cap just above what is spent: the first turn's spend crosses it, and the check
    # before the second turn (on the item that spend update answered) stops the run.
    item = tenant_stack.table.raw_tenant_item(tenant)
    assert item is not None
    spent, _ = spend_of(item, datetime.now(UTC))
    lifecycle.set_budget(tenant_stack.table, tenant, daily=spent + 1e-6, monthly=None)
    scripted_model.script(*six_turns())
    capped = queue_run(store, tenant=tenant)
    calls_before = len(scripted_model.requests)
    stopped = execute(capped, deadline=Deadline.after_ms(30_000), owner="b", final_attempt=False)
    view = store.get(capped)
    assert (stopped.status, view.status) == (OutcomeStatus.SUCCEEDED, InvocationStatus.SUCCEEDED)
    assert (view.turns, view.stop_reason) == (1, "max_cost")
    assert len(scripted_model.requests) - calls_before == 1


def test_a_single_call_run_checks_the_cap_once_queued_and_not_again_inline(
    worker_stack: InvocationStack, tenant_stack: TenantStack, tenant_calls: CallCounter
) -> None:
    from agents.records import InvocationMode, InvocationRecord

    tenant = _capped_tenant(tenant_stack, daily=100.0)
    store = get_store()
    for inline, reads in ((False, 1), (True, 0)):  # inline: the API's admission checked it
        record = InvocationRecord.new(
            tenant=tenant,
            agent="code-reviewer-fast",
            input="def add(a, b):\n    return a - b\n",
            context={"language": "python"},
            mode=InvocationMode.SYNC if inline else InvocationMode.ASYNC,
        )
        invocation_id = store.create(record).id
        tenant_calls.clear()
        done = execute(
            invocation_id,
            deadline=Deadline.after_ms(30_000),
            owner="api" if inline else "worker",
            final_attempt=False,
            inline=inline,
        )
        assert done.status is OutcomeStatus.SUCCEEDED, done
        operations = tenant_calls.operations(tenant_stack.table.name)
        assert (operations["GetItem"], operations["UpdateItem"]) == (reads, 1), inline
