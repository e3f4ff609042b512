"""The error taxonomy: every failure the service reports, classified once.

Each error class carries a stable ``error_type`` string (used as the RFC 9457
problem ``type`` suffix, in invocation records and in DLQ messages), the HTTP
status the API answers with, and whether a retry can help (``retryable``).
Problem types are relative URI references ``/problems/<error_type>``; each is
documented in ``docs/api.md``.
"""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_BASE = "/problems/"


class GatewayError(Exception):
    """Base of every error the service reports to a caller."""

    error_type: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"
    status: ClassVar[int] = 500
    retryable: ClassVar[bool] = False

    def __init_subclass__(
        cls,
        *,
        error_type: str | None = None,
        title: str | None = None,
        status: int | None = None,
        retryable: bool | None = None,
        **kwargs: Any,
    ) -> None:
        """A problem type's row: ``class X(Base, error_type=..., title=..., status=...)``;
        what is not given is inherited."""
        super().__init_subclass__(**kwargs)
        if error_type is not None:
            cls.error_type = error_type
        if title is not None:
            cls.title = title
        if status is not None:
            cls.status = status
        if retryable is not None:
            cls.retryable = retryable

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        #: Extra, caller-safe members for the problem document (never secrets).
        self.extra: dict[str, Any] = extra

    @property
    def problem_type(self) -> str:
        return PROBLEM_BASE + self.error_type

    def to_dict(self) -> dict[str, Any]:
        """The error as stored in an invocation record and a DLQ message."""
        return {
            "type": self.error_type,
            "message": self.detail,
            "retryable": self.retryable,
            **({"details": self.extra} if self.extra else {}),
        }

    def __str__(self) -> str:
        return self.detail


# --- caller mistakes (4xx, permanent) ---------------------------------------


class BadRequest(GatewayError, error_type="bad-request", title="Bad request", status=400): ...


class InvalidAgentName(
    GatewayError, error_type="invalid-agent-name", title="Invalid agent name", status=400
): ...


class InvalidIdempotencyKey(
    GatewayError, error_type="invalid-idempotency-key", title="Invalid Idempotency-Key", status=400
): ...


class InvalidEventCursor(
    GatewayError, error_type="invalid-event-cursor", title="Invalid event cursor", status=400
):
    """``after`` or ``Last-Event-ID`` is not a whole number from 0 up."""


class InvalidWait(GatewayError, error_type="invalid-wait", title="Invalid wait", status=400):
    """``wait`` is not a number of seconds from 0 to 20."""


class Unauthorized(GatewayError, error_type="unauthorized", title="Unauthorized", status=401): ...


class Forbidden(GatewayError, error_type="forbidden", title="Forbidden", status=403):
    """An authenticated caller without a tenant (a Cognito token lacking the tenant claim)."""


class NotFound(GatewayError, error_type="not-found", title="Not found", status=404): ...


class AgentNotFound(NotFound, error_type="agent-not-found", title="Agent not found"): ...


class InvocationNotFound(
    NotFound, error_type="invocation-not-found", title="Invocation not found"
): ...


class BatchNotFound(NotFound, error_type="batch-not-found", title="Batch not found"): ...


class Conflict(GatewayError, error_type="conflict", title="Conflict", status=409): ...


class IdempotencyInProgress(
    Conflict,
    error_type="idempotency-key-in-use",
    title="A request with this Idempotency-Key is still in progress",
): ...


class NotCancellable(
    Conflict, error_type="not-cancellable", title="Invocation cannot be cancelled"
): ...


class NotWaiting(
    Conflict, error_type="not-waiting", title="Invocation is not waiting for a decision"
):
    """``POST /invocations/{id}/actions`` on an invocation whose status is not WAITING."""


class DecisionsMismatch(
    GatewayError,
    error_type="decisions-mismatch",
    title="The decisions do not match the pending actions",
    status=422,
):
    """Decisions must name every pending action once, and nothing else."""


class TooManyPendingActions(
    GatewayError,
    error_type="too-many-pending-actions",
    title="Too many tool calls wait for approval",
    status=422,
):
    """One turn asked for more approvals than a WAITING run holds (``MAX_PENDING_ACTIONS``)."""


class RunAbandoned(GatewayError, error_type="abandoned", title="Run abandoned", status=500):
    """(Sweeper) a run's runner died with no checkpoint and no queue message to retry it."""


class ApprovalTimeout(
    GatewayError, error_type="approval-timeout", title="Approval timed out", status=504
):
    """(Sweeper) a run stayed WAITING longer than ``APPROVAL_TIMEOUT_SECONDS``."""


class RedriveRefused(
    Conflict,
    error_type="redrive-requires-force",
    title="The failure is permanent; redrive needs --force",
):
    """A redrive of a non-retryable failure was asked for without ``force``."""


class PayloadTooLarge(
    GatewayError, error_type="payload-too-large", title="Payload too large", status=413
): ...


class UnsupportedMediaType(
    GatewayError, error_type="unsupported-media-type", title="Unsupported media type", status=415
): ...


class ValidationFailed(
    GatewayError, error_type="validation-error", title="Request validation failed", status=422
): ...


class WebhookUrlRefused(
    GatewayError, error_type="webhook-url-refused", title="Webhook URL refused", status=422
):
    """A callback URL (or an address it resolves to) the gateway will not call (SSRF rules)."""


class IdempotencyKeyReused(
    GatewayError,
    error_type="idempotency-key-reused",
    title="Idempotency-Key reused with a different request",
    status=422,
): ...


class EconomyNotSupported(
    GatewayError,
    error_type="economy-not-supported",
    title="Economy processing not supported for this agent",
    status=422,
): ...


class BudgetExceeded(
    GatewayError, error_type="budget-exceeded", title="Tenant budget exceeded", status=429
):
    """The tenant's daily or monthly spend cap is reached (``retry_after_s``: to the reset)."""


class DefinitionError(
    GatewayError, error_type="invalid-definition", title="Invalid agent definition", status=422
):
    """An agent definition cannot be parsed or is invalid.

    ``path`` names the file (or S3 key), ``line`` the 1-based line when known,
    ``hint`` how to fix it.
    """

    def __init__(
        self, detail: str, *, path: str = "", line: int | None = None, hint: str = ""
    ) -> None:
        extra: dict[str, Any] = {}
        if path:
            extra["path"] = path
        if line is not None:
            extra["line"] = line
        if hint:
            extra["hint"] = hint
        super().__init__(detail, **extra)
        self.path = path
        self.line = line
        self.hint = hint

    def __str__(self) -> str:
        where = self.path or "<definition>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        text = f"{where}: {self.detail}"
        return f"{text} (fix: {self.hint})" if self.hint else text


class UnknownModel(
    GatewayError, error_type="unknown-model", title="Unknown model alias", status=422
): ...


class InputContractError(
    GatewayError, error_type="input-contract-violation", title="Input contract violated", status=422
):
    """The caller's context misses inputs the agent's ``input_schema`` requires."""

    def __init__(self, detail: str, problems: list[dict[str, str]]) -> None:
        super().__init__(detail, problems=problems)
        self.problems = problems


class WorkspaceError(
    GatewayError, error_type="workspace-invalid", title="Invalid workspace", status=422
):
    """The invocation's files or archive are rejected (nothing was written)."""


class WorkspacePathError(WorkspaceError):
    """A workspace path that is absolute, has ``..``, NUL, ``\\``, ``~``, is empty or too long."""


class WorkspaceLimitExceeded(
    WorkspaceError, error_type="workspace-too-large", title="Workspace too large", status=413
):
    """A workspace over its file count, total, per-file or path-length bounds."""


class WorkspaceNotFound(NotFound, error_type="workspace-not-found", title="Workspace not found"):
    """No uploaded archive for this ``ws_...`` id and caller (not created, not uploaded yet,
    or expired)."""


class MalformedMessage(
    GatewayError, error_type="malformed-message", title="Malformed queue message", status=400
):
    """A queue message that can never be processed (poison)."""


# --- faults of ours ------------------------------------------------------------


class ConfigurationError(
    GatewayError, error_type="configuration-error", title="Service misconfigured", status=500
):
    """The deployment is misconfigured: a missing or unreadable secret, an unset or invalid
    setting, one of our own tables/buckets/queues missing or not accessible to us.

    Not the caller's fault and not the model's; permanent until the deployment is fixed.
    The detail names what is missing (a secret's or setting's name, never a value).
    """


# --- model and runtime failures ---------------------------------------------


class ModelError(
    GatewayError, error_type="model-error", title="Model request rejected", status=502
):
    """The model call failed permanently (a 4xx from the Messages API)."""


class ModelRefusal(
    ModelError, error_type="model-refusal", title="The model refused the request"
): ...


class ModelUnavailable(
    ModelError,
    error_type="model-unavailable",
    title="Model temporarily unavailable",
    retryable=True,
):
    """A transient model failure (429, 529, 5xx, connection, timeout) after retries."""


class StreamInterrupted(
    ModelUnavailable, error_type="stream-interrupted", title="The model's stream was cut"
): ...


class DeadlineExceeded(
    GatewayError,
    error_type="deadline-exceeded",
    title="Deadline exceeded",
    status=504,
    retryable=True,
):
    """The run could not finish within the function's remaining time."""


class ServiceUnavailable(GatewayError):
    """An AWS dependency failed transiently (throttling, 5xx)."""

    error_type = "service-unavailable"
    title = "Service temporarily unavailable"
    status = 503
    retryable = True
