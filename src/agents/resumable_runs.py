"""The executor's side of a resumable tool run: one segment's checkpoints and controls, and
the writes that end a segment without finishing the run (hand-off, WAITING).

docs/architecture.md, "Resumable runs", has the whole picture; decisions 15.1-15.30.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agents.checkpoints import CheckpointState, CheckpointStore
from agents.crash_points import crash_point
from agents.errors import Conflict, GatewayError, TooManyPendingActions
from agents.observability import logger
from agents.pending_actions import MAX_PENDING_ACTIONS, PendingAction, shown_input
from agents.records import utc_now
from agents.runner.request import RunInput
from agents.runner.run_state import APPROVAL, HAND_OFF, RunControls, ToolRunOptions

if TYPE_CHECKING:
    from agents.config import Settings
    from agents.definitions import AgentDefinition
    from agents.events import RunEventRecorder
    from agents.executor import ExecutionOutcome
    from agents.records import InvocationRecord
    from agents.runner import AgentRunResult, Deadline, Runner
    from agents.runner.client_tools import ClientToolbox
    from agents.store import InvocationStore
    from agents.tool_runs import ToolRunSetup
    from agents.workspace import Workspace

__all__ = ["RunSegment", "end_segment", "run_tool_segment"]


@dataclass
class RunSegment:
    """One segment of a tool run under ``owner``: it resumes from the record's checkpoint and
    checkpoints every finished turn (S3 first, then one conditional record write)."""

    record: InvocationRecord
    store: InvocationStore
    settings: Settings
    owner: str
    #: True: the API runs it (its checkpoints do not renew the lease).
    inline: bool
    workspace: Workspace | None
    checkpoints: CheckpointStore = field(init=False)
    #: The turn of the newest checkpoint (the next save is conditional on it).
    previous_turn: int | None = field(init=False)

    def __post_init__(self) -> None:
        self.checkpoints = CheckpointStore(
            bucket=self.store.payload_bucket,
            prefix=self.store.payload_prefix,
            invocation_id=self.record.id,
            s3=self.store.payloads._s3,
        )
        self.previous_turn = self.record.checkpoint_turn

    def controls(self, definition: AgentDefinition, toolbox: ClientToolbox) -> RunControls:
        """The loop's controls: the checkpoint to resume from (its workspace changes applied
        to the request's workspace), the decisions, the approval list and the run's end."""
        from agents.approvals import approval_tools
        from agents.runner.client_tools import replay_tool_session

        record, settings = self.record, self.settings
        resume: CheckpointState | None = None
        if record.checkpoint_ref:
            loaded = self.checkpoints.load(record.checkpoint_ref)
            if self.workspace is not None:
                for path, data in loaded.files.items():
                    self.workspace.write_bytes(path, data)
                for path in loaded.deleted:
                    if self.workspace.exists(path):
                        self.workspace.delete(path)
            replay_tool_session(toolbox, loaded.state.transcript)
            resume = loaded.state
            logger.info(
                "resuming from a checkpoint",
                extra={"checkpoint_turn": loaded.state.turn, "segments": record.segments},
            )
        started = record.run_started_at if record.run_started_at is not None else utc_now()
        return RunControls(
            on_checkpoint=self.save,
            resume=resume,
            decisions={decision.id: decision for decision in record.decisions or []},
            approval=approval_tools(definition.approval, record.require_approval),
            can_hand_off=True,
            write_margin_ms=float(settings.turn_write_margin_ms),
            run_ends_at=started + settings.max_run_seconds,
        )

    def save(self, state: CheckpointState) -> None:
        """The checkpoint hook: new blobs and the manifest, then the record write
        (conditional on the lease and the previous turn; ``Conflict`` when refused)."""
        ref = self.checkpoints.save(state, self.workspace)
        self.store.save_checkpoint(
            self.record.id,
            self.owner,
            turn=state.turn,
            previous_turn=self.previous_turn,
            checkpoint_ref=ref,
            usage=state.usage,
            cost_usd=state.cost_usd,
            tool_calls=state.tool_calls,
            lease_seconds=None if self.inline else float(self.settings.lease_seconds),
            turn_closed=state.open_calls is None,
        )
        self.previous_turn = state.turn
        crash_point("after-checkpoint", state.turn)


def run_tool_segment(
    record: InvocationRecord,
    definition: AgentDefinition,
    setup: ToolRunSetup,
    *,
    store: InvocationStore,
    runner: Runner,
    deadline: Deadline,
    owner: str,
    inline: bool,
    events: RunEventRecorder | None = None,
) -> AgentRunResult:
    """One segment of a tool run: the tool loop from the record's checkpoint (if any), with
    the tenant's turn hooks (then ``events``'), checkpointing every finished turn."""
    from agents.config import get_settings
    from agents.runner.client_tools import workspace_toolbox
    from agents.tool_runs import budgets_for, tenant_turn_hooks

    settings = get_settings()
    before_turn, after_turn = tenant_turn_hooks(record.tenant)
    if events is not None:
        before_turn, after_turn = events.compose(before_turn, after_turn)
    toolbox = workspace_toolbox(setup.workspace, setup.plan)
    segment = RunSegment(
        record, store, settings, owner=owner, inline=inline, workspace=setup.workspace
    )
    tools = ToolRunOptions(
        plan=setup.plan,
        budgets=budgets_for(record, definition, settings),
        workspace=setup.workspace,
        toolbox=toolbox,
        before_turn=before_turn,
        after_turn=after_turn,
        controls=segment.controls(definition, toolbox),
    )
    return runner.run_agent(RunInput.from_record(record, definition, deadline), tools)


def end_segment(
    store: InvocationStore,
    record: InvocationRecord,
    owner: str,
    result: AgentRunResult,
    settings: Settings,
) -> ExecutionOutcome:
    """A paused run: hand it off (release + continuation) or put it in WAITING."""
    from agents.continuations import send_continuation
    from agents.executor import ExecutionOutcome, OutcomeStatus

    try:
        if result.paused == APPROVAL:
            if len(result.pending) > MAX_PENDING_ACTIONS:
                # Decisions must name every pending call: more than a record holds could
                # never be decided, so the run ends here (the work so far is checkpointed).
                raise TooManyPendingActions(
                    f"{len(result.pending)} tool calls of one turn wait for approval; at most "
                    f"{MAX_PENDING_ACTIONS} can",
                    invocation_id=record.id,
                )
            pending = [
                PendingAction(
                    id=str(call["id"]),
                    tool=str(call["name"]),
                    input=shown_input(call.get("input") or {}),
                )
                for call in result.pending
            ]
            waiting = store.wait_for_approval(
                record.id, owner, pending, timeout_seconds=settings.approval_timeout_seconds
            )
            logger.info("run waiting for approval", extra={"pending": [a.tool for a in pending]})
            return ExecutionOutcome(OutcomeStatus.WAITING, waiting)
        if result.paused != HAND_OFF:
            raise ValueError(f"not a pause: {result.paused!r}")
        handed = store.hand_off(record.id, owner, grace_seconds=settings.handoff_grace_seconds)
    except Conflict as exc:
        logger.warning("lease lost before the segment ended; the new owner goes on")
        return ExecutionOutcome(OutcomeStatus.LEASE_LOST, None, exception=exc, should_retry=True)
    try:
        send_continuation(record.id, settings, sequence=f"seg{handed.segments}")
    except GatewayError as exc:
        # The record is in the sweep index: the sweeper sends it after HANDOFF_GRACE_SECONDS.
        logger.warning(
            "continuation not sent; the sweeper resends it", extra={"error_type": exc.error_type}
        )
    logger.info(
        "run handed off to a new segment",
        extra={"segments": handed.segments, "checkpoint_turn": handed.checkpoint_turn},
    )
    return ExecutionOutcome(OutcomeStatus.HANDED_OFF, handed)
