"""The model runner: one code path from an agent definition to a model answer.

Used by the API (inline) and the worker (queued). See ``docs/runner.md`` for the
request shape, the contract instruction, the deadline arithmetic and the error
classes. In short:

* the definition body is a system block with ``cache_control`` (ephemeral); the
  output contract instruction (:mod:`agents.prompting`) is a second, separately
  cached system block; context values and the input form the user turn;
* the call streams (``client.messages.stream``), through one ``anthropic``
  client per container, created lazily;
* every HTTP attempt, SDK retry and retry wait is bounded by the deadline minus
  ``DEADLINE_MARGIN_MS`` (kept for the writes that follow); past it the runner
  raises :class:`~agents.errors.DeadlineExceeded`;
* one repair turn when required sections are missing;
* errors are mapped to :mod:`agents.errors` in one place,
  :func:`classify_model_error`.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import email.utils
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from agents.config import Settings, get_settings
from agents.container import PerContainer
from agents.errors import (
    DeadlineExceeded,
    GatewayError,
    InputContractError,
    ModelError,
    ModelRefusal,
    ModelUnavailable,
    PayloadTooLarge,
    StreamInterrupted,
    ValidationFailed,
)
from agents.observability import logger
from agents.pricing import estimate_cost
from agents.prompting import (
    build_contract_instruction,
    build_repair_turn,
    render_user_turn,
    valid_context_name,
)
from agents.types import ContractResult, Timings, Usage

if TYPE_CHECKING:
    import anthropic
    import httpx2
    from anthropic._middleware import CallNext
    from anthropic._request import APIRequest
    from anthropic._response import APIResponse

    from agents.definitions import AgentDefinition

__all__ = [
    "Deadline",
    "RunResult",
    "Runner",
    "classify_model_error",
    "get_runner",
    "plan_max_retries",
    "preflight",
]

#: An HTTP attempt is not started with less than this much budget left (seconds).
MIN_ATTEMPT_S = 0.25
#: Connect timeout of one attempt (capped by the budget).
CONNECT_TIMEOUT_S = 5.0
#: Upper bound of SDK retries per model call, whatever the budget.
MAX_RETRIES_CAP = 4
#: The SDK's backoff (``anthropic._constants``): 0.5 s doubling, at most 8 s, minus jitter.
INITIAL_RETRY_DELAY_S = 0.5
MAX_RETRY_DELAY_S = 8.0
#: The hard wall-clock backstop waits this long past the budget for the call to end itself.
HARD_STOP_GRACE_S = 0.25
#: Stop reasons that mean the output was cut short.
INCOMPLETE_STOP_REASONS = frozenset({"max_tokens", "model_context_window_exceeded", "pause_turn"})
#: Statuses the SDK retries (besides ``x-should-retry: true``).
_SDK_RETRY_STATUSES = frozenset({408, 409, 429})
_RETRYABLE_API_ERROR_TYPES = frozenset(
    {"overloaded_error", "rate_limit_error", "api_error", "timeout_error"}
)

T = TypeVar("T")


# --- deadline -------------------------------------------------------------------------


class _LambdaContext(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


class Deadline:
    """A point in time the run must finish by (a monotonic clock underneath).

    Build it from an epoch in milliseconds (:meth:`at_epoch_ms`), a remaining
    time (:meth:`after_ms`) or a Lambda context (:meth:`from_lambda_context`).
    """

    __slots__ = ("_end",)

    def __init__(self, end_monotonic: float) -> None:
        self._end = end_monotonic

    @classmethod
    def after_ms(cls, remaining_ms: float) -> Deadline:
        return cls(time.monotonic() + remaining_ms / 1000)

    @classmethod
    def at_epoch_ms(cls, epoch_ms: float) -> Deadline:
        return cls.after_ms(epoch_ms - time.time() * 1000)

    @classmethod
    def from_lambda_context(cls, context: _LambdaContext) -> Deadline:
        return cls.after_ms(context.get_remaining_time_in_millis())

    @property
    def monotonic(self) -> float:
        return self._end

    @property
    def epoch_ms(self) -> int:
        return int((time.time() + self._end - time.monotonic()) * 1000)

    def remaining_s(self) -> float:
        """Seconds left (negative once past)."""
        return self._end - time.monotonic()

    def remaining_ms(self) -> int:
        return math.floor(self.remaining_s() * 1000)

    def expired(self) -> bool:
        return self.remaining_s() <= 0

    def minus_ms(self, margin_ms: float) -> Deadline:
        """The same deadline, ``margin_ms`` earlier."""
        return Deadline(self._end - margin_ms / 1000)

    def __repr__(self) -> str:
        return f"Deadline(remaining_ms={self.remaining_ms()})"


def _backoff_s(retries_taken: int) -> float:
    """Longest wait the SDK takes before retry number ``retries_taken + 1`` (no jitter)."""
    return min(INITIAL_RETRY_DELAY_S * 2.0 ** min(retries_taken, 30), MAX_RETRY_DELAY_S)


def plan_max_retries(budget_s: float, cap: int = MAX_RETRIES_CAP) -> int:
    """How many SDK retries fit in ``budget_s``: each needs its backoff plus one short attempt."""
    spent = MIN_ATTEMPT_S
    retries = 0
    while retries < cap:
        need = _backoff_s(retries) + MIN_ATTEMPT_S
        if spent + need > budget_s:
            break
        spent += need
        retries += 1
    return retries


def _retry_after_s(headers: httpx2.Headers) -> float | None:
    """The server's retry hint, parsed like the SDK does (``retry-after-ms``, seconds, date)."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return float(raw_ms) / 1000
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        parsed = email.utils.parsedate_tz(raw)
        return None if parsed is None else float(email.utils.mktime_tz(parsed) - time.time())


def _sdk_retries(response: httpx2.Response) -> bool:
    """Whether the SDK's policy retries this error response (mirrors ``_should_retry``)."""
    hint = response.headers.get("x-should-retry")
    if hint in {"true", "false"}:
        return hint == "true"
    return response.status_code in _SDK_RETRY_STATUSES or response.status_code >= 500


# --- internal failures raised inside a model call -------------------------------------


class _BudgetExhausted(Exception):
    """No time left for (another) attempt; raised from the middleware (not retried)."""

    def __init__(self, detail: str, last_status: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.last_status = last_status


class _RetryWouldOutliveBudget(Exception):
    """The SDK would wait past the budget before its next retry (e.g. a long retry-after)."""

    def __init__(self, status: int, wait_s: float, left_s: float, api_message: str) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.wait_s = wait_s
        self.left_s = left_s
        self.api_message = api_message


class _IncompleteStream(Exception):
    """The stream ended without ``message_stop``."""


class _Cancelled(Exception):
    """The caller stopped waiting (hard deadline backstop)."""


def _api_message(response: httpx2.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return str(message)[:300] if message else ""


@dataclass
class _CallGuard:
    """State of one model call; :meth:`handle` is its SDK middleware (once per HTTP attempt)."""

    budget_end: float
    max_retries: int
    attempts: int = 0
    statuses: list[int] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)
    cancelled: threading.Event = field(default_factory=threading.Event)

    def left_s(self) -> float:
        return self.budget_end - time.monotonic()

    def handle(self, request: APIRequest, call_next: CallNext) -> APIResponse[Any]:
        """The SDK middleware (a plain callable): bound, count and vet one HTTP attempt."""
        import httpx2
        from anthropic import APIConnectionError, APITimeoutError

        last = self.statuses[-1] if self.statuses else None
        if self.cancelled.is_set():
            raise _Cancelled("the caller stopped waiting")
        left = self.left_s()
        if left < MIN_ATTEMPT_S:
            raise _BudgetExhausted(
                f"no time left for model attempt {request.retries_taken + 1} "
                f"({max(left, 0) * 1000:.0f} ms of budget left)",
                last,
            )
        self.attempts += 1
        timeout = httpx2.Timeout(left, connect=min(CONNECT_TIMEOUT_S, left))
        try:
            response = call_next(request.copy(timeout=timeout))
        except APIConnectionError as exc:
            # The SDK would back off and retry: only if that fits in the budget. `from None`
            # keeps the SDK from retrying (it follows `__cause__` to find retryable errors).
            retries_left = request.retries_taken < self.max_retries
            if retries_left and self.left_s() < _backoff_s(request.retries_taken) + MIN_ATTEMPT_S:
                if isinstance(exc, APITimeoutError):
                    raise _BudgetExhausted(
                        "the model did not answer within the time budget", last
                    ) from None
                raise classify_model_error(exc) from None
            raise
        http = response.http_response
        request_id = http.headers.get("request-id")
        if request_id:
            self.request_ids.append(request_id)
        if http.status_code >= 400:
            self.statuses.append(http.status_code)
            if request.retries_taken < self.max_retries and _sdk_retries(http):
                hint = _retry_after_s(http.headers)
                wait = hint if hint is not None and hint > 0 else _backoff_s(request.retries_taken)
                left = self.left_s()
                if wait + MIN_ATTEMPT_S > left:
                    http.read()
                    raise _RetryWouldOutliveBudget(
                        http.status_code, wait, max(left, 0.0), _api_message(http)
                    )
        return response


# --- error classification -------------------------------------------------------------


def classify_model_error(exc: BaseException, *, budget_expired: bool = False) -> GatewayError:
    """Map any failure of a model call to the taxonomy in :mod:`agents.errors`.

    Retryable: 408/409/429/5xx/529 (:class:`ModelUnavailable`), connection errors,
    timeouts and a run out of time (:class:`DeadlineExceeded`), cut streams
    (:class:`StreamInterrupted`). Permanent: every other 4xx (:class:`ModelError`),
    refusals (raised directly as :class:`ModelRefusal`), unknown model aliases
    (:class:`~agents.errors.UnknownModel`, raised before any call). Errors that are
    already :class:`GatewayError` pass through unchanged.
    """
    import anthropic
    import httpx2

    if isinstance(exc, GatewayError):
        return exc
    if isinstance(exc, _BudgetExhausted | _Cancelled):
        extra: dict[str, Any] = {}
        if isinstance(exc, _BudgetExhausted) and exc.last_status is not None:
            extra["last_status"] = exc.last_status
        return DeadlineExceeded(
            f"the model call did not finish within the deadline: {exc}", **extra
        )
    if isinstance(exc, _RetryWouldOutliveBudget):
        return ModelUnavailable(
            f"the model answered HTTP {exc.status} and asks to wait {exc.wait_s:g} s, "
            f"longer than the {exc.left_s:.1f} s left before the deadline"
            + (f": {exc.api_message}" if exc.api_message else ""),
            status=exc.status,
            retry_after_s=round(exc.wait_s, 3),
        )
    if isinstance(exc, _IncompleteStream):
        return StreamInterrupted(f"the model's stream ended early: {exc}")
    if isinstance(exc, anthropic.APITimeoutError) or (
        isinstance(exc, httpx2.TimeoutException) and budget_expired
    ):
        if budget_expired:
            return DeadlineExceeded("the model did not answer within the deadline")
        return ModelUnavailable("the model request timed out")
    if isinstance(exc, anthropic.APIConnectionError):
        return ModelUnavailable(f"could not reach the model API: {exc.message}")
    if isinstance(exc, anthropic.APIStatusError):
        status = exc.status_code
        api_type = exc.type or ""
        message = exc.api_message or ""
        details: dict[str, Any] = {"status": status}
        if api_type:
            details["api_error_type"] = api_type
        if exc.request_id:
            details["request_id"] = exc.request_id
        text = f"the model API answered HTTP {status}" + (f" {api_type}" if api_type else "")
        text += f": {message}" if message else ""
        if status < 400:  # an `event: error` inside a 200 stream
            if api_type in _RETRYABLE_API_ERROR_TYPES:
                return StreamInterrupted(
                    f"the model's stream failed: {api_type} {message}".strip(), **details
                )
            return ModelError(text, **details)
        if status in _SDK_RETRY_STATUSES or status >= 500:
            return ModelUnavailable(text, **details)
        return ModelError(text, **details)
    if isinstance(exc, httpx2.TransportError):
        # Raised while reading an SSE stream the SDK already handed over (mid-stream).
        return StreamInterrupted(f"the model's stream was cut: {type(exc).__name__}: {exc}")
    if isinstance(exc, anthropic.AnthropicError):
        return ModelError(f"the model call failed: {type(exc).__name__}: {exc}")
    if isinstance(exc, TimeoutError):
        return DeadlineExceeded("the model call did not finish within the deadline")
    raise exc


# --- results --------------------------------------------------------------------------


class RunResult(BaseModel):
    """What one run produced (a repair turn, when sent, is included in every figure)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    output: str
    model: str
    stop_reason: str | None
    incomplete: bool = False
    contract: ContractResult | None = None
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float = 0.0
    #: HTTP attempts to the Messages API, SDK retries and the repair turn included.
    attempts: int = 0
    #: Model calls (1, or 2 with a repair turn).
    model_calls: int = 1
    repaired: bool = False
    timings: Timings = Field(default_factory=Timings)
    request_ids: list[str] = Field(default_factory=list)


@dataclass
class _CallOutcome:
    text: str
    stop_reason: str | None
    usage: Usage
    refusal: str | None
    refusal_category: str | None
    #: From sending the request (SDK retries included) to the first text delta.
    first_token_ms: float | None


# --- the runner -----------------------------------------------------------------------


class Runner:
    """Runs agent definitions against the Messages API (one per container: :func:`get_runner`)."""

    def __init__(self, settings: Settings | None = None, *, base_url: str | None = None) -> None:
        """``settings``: fixed settings (default: the container's, read per run).
        ``base_url``: the Messages API root (default: ``ANTHROPIC_BASE_URL``, read by the SDK)."""
        self._settings = settings
        self._base_url = base_url
        self._client: anthropic.Anthropic | None = None
        self._lock = threading.Lock()
        self._refetch_key = False

    @property
    def settings(self) -> Settings:
        return self._settings if self._settings is not None else get_settings()

    # -- the client --

    def client(self) -> anthropic.Anthropic:
        """The container's SDK client (created on first use; the base URL comes from
        ``ANTHROPIC_BASE_URL`` through the SDK)."""
        found = self._client
        if found is not None:
            return found
        with self._lock:
            if self._client is None:
                import anthropic

                from agents.secrets import anthropic_api_key

                key = anthropic_api_key(self.settings, force_fetch=self._refetch_key)
                self._refetch_key = False
                self._client = anthropic.Anthropic(
                    api_key=key, base_url=self._base_url, max_retries=0
                )
            return self._client

    def warm(self) -> None:
        """Import the SDK and create the client now (e.g. during a Lambda's INIT phase)."""
        self.client()

    def forget_client(self, *, refetch_key: bool = False) -> None:
        with self._lock:
            client, self._client = self._client, None
            self._refetch_key = self._refetch_key or refetch_key
        if client is not None:
            client.close()

    # -- a run --

    def run(
        self,
        definition: AgentDefinition,
        input_text: str,
        *,
        context: Mapping[str, Any] | None = None,
        invocation_context: str | None = None,
        max_tokens: int | None = None,
        deadline: Deadline,
        metadata: Mapping[str, str] | None = None,
    ) -> RunResult:
        """Run ``definition`` on ``input_text`` (see the module docs and ``docs/runner.md``)."""
        started = time.monotonic()
        settings = self.settings
        from agents.models import resolve_model

        model = resolve_model(definition.model, settings)
        tokens = self._max_tokens(max_tokens, settings)
        user_turn = self._user_turn(definition, input_text, context, settings)
        system = self._system(definition, input_text, invocation_context)
        budget = deadline.minus_ms(settings.deadline_margin_ms)
        if budget.remaining_s() < MIN_ATTEMPT_S:
            raise DeadlineExceeded(
                f"not enough time left to call the model ({deadline.remaining_ms()} ms left, "
                f"{settings.deadline_margin_ms} ms kept for the writes that follow)"
            )

        messages: list[dict[str, Any]] = [{"role": "user", "content": user_turn}]
        params: dict[str, Any] = {
            "model": model,
            "max_tokens": tokens,
            "system": system,
            "messages": messages,
        }
        guards: list[_CallGuard] = []
        first = self._call(params, budget, guards)
        usage = first.usage
        if first.refusal is not None:
            raise self._refusal(first)
        output, stop_reason = first.text, first.stop_reason
        contract = self._check(definition, output, input_text, invocation_context)
        repaired = False
        if contract is not None and not contract.valid and stop_reason == "end_turn":
            repair_params = {
                **params,
                "messages": [
                    *messages,
                    {"role": "assistant", "content": first.text},
                    {
                        "role": "user",
                        "content": build_repair_turn(contract.missing, contract.verdict_error),
                    },
                ],
            }
            try:
                second = self._call(repair_params, budget, guards)
            except GatewayError as exc:
                logger.warning(
                    "repair turn failed; keeping the first answer",
                    extra={"error_type": exc.error_type, "agent": definition.name},
                )
            else:
                usage = usage + second.usage
                if second.refusal is None:
                    output, stop_reason = second.text, second.stop_reason
                    contract = self._check(definition, output, input_text, invocation_context)
                    repaired = True
        cost = estimate_cost(model, usage, settings)
        result = RunResult(
            output=output,
            model=model,
            stop_reason=stop_reason,
            incomplete=stop_reason in INCOMPLETE_STOP_REASONS,
            contract=contract,
            usage=usage,
            cost_usd=cost,
            attempts=sum(guard.attempts for guard in guards),
            model_calls=sum(1 for guard in guards if guard.attempts),
            repaired=repaired,
            timings=Timings(
                time_to_first_token_ms=first.first_token_ms,
                total_ms=round((time.monotonic() - started) * 1000, 1),
            ),
            request_ids=[rid for guard in guards for rid in guard.request_ids],
        )
        logger.info(
            "model run finished",
            extra={
                "agent": definition.name,
                "model": model,
                "stop_reason": stop_reason,
                "contract_valid": None if contract is None else contract.valid,
                "repaired": repaired,
                "attempts": result.attempts,
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
                "cache_read_input_tokens": usage.cache_read_input_tokens,
                "cache_creation_input_tokens": usage.cache_creation_input_tokens,
                "cost_usd": cost,
                "total_ms": result.timings.total_ms,
                **({"metadata_keys": sorted(metadata)} if metadata else {}),
            },
        )
        return result

    # -- request pieces --

    @staticmethod
    def _max_tokens(max_tokens: int | None, settings: Settings) -> int:
        value = settings.default_max_tokens if max_tokens is None else max_tokens
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not (1 <= value <= settings.max_tokens_limit)
        ):
            raise ValidationFailed(
                f"max_tokens must be an integer from 1 to {settings.max_tokens_limit}",
                field="max_tokens",
            )
        return value

    @staticmethod
    def _user_turn(
        definition: AgentDefinition,
        input_text: str,
        context: Mapping[str, Any] | None,
        settings: Settings,
    ) -> str:
        if context is not None and not isinstance(context, Mapping):
            raise ValidationFailed("context must be an object", field="context")
        given: Mapping[str, Any] = context or {}
        bad = [name for name in given if not isinstance(name, str) or not valid_context_name(name)]
        if bad:
            raise ValidationFailed(
                "context names must match [A-Za-z0-9_.-]{1,64}",
                field="context",
                names=[str(name)[:80] for name in bad[:20]],
            )
        declared: list[str] = []
        if definition.input_contract is not None:
            problems = definition.input_contract.check(given)
            if problems:
                names = ", ".join(problem["field"] for problem in problems)
                raise InputContractError(
                    f"the context does not satisfy the agent's input contract: {names}", problems
                )
            declared = [c.name for c in definition.input_contract.required_context]
            declared += [c.name for c in definition.input_contract.optional_context]
        if not input_text.strip() and not given:
            raise ValidationFailed("input must not be empty", field="input")
        text = render_user_turn(input_text, given, declared)
        if len(text) > settings.max_input_chars:
            raise PayloadTooLarge(
                f"input and context are {len(text)} characters; the limit is "
                f"{settings.max_input_chars}",
                limit=settings.max_input_chars,
            )
        return text

    @staticmethod
    def _system(
        definition: AgentDefinition, input_text: str, invocation_context: str | None = None
    ) -> list[dict[str, Any]]:
        body = definition.body.strip() or (
            f"You are the agent {definition.name}. {definition.description}".strip()
        )
        blocks: list[dict[str, Any]] = [
            {"type": "text", "text": body, "cache_control": {"type": "ephemeral"}}
        ]
        if definition.output_contract is not None:
            instruction = build_contract_instruction(
                definition.output_contract, input_text, invocation_context
            )
            if instruction:
                blocks.append(
                    {"type": "text", "text": instruction, "cache_control": {"type": "ephemeral"}}
                )
        return blocks

    @staticmethod
    def _check(
        definition: AgentDefinition,
        output: str,
        prompt: str,
        invocation_context: str | None = None,
    ) -> ContractResult | None:
        if definition.output_contract is None:
            return None
        return definition.output_contract.check(output, prompt, invocation_context)

    @staticmethod
    def _refusal(outcome: _CallOutcome) -> ModelRefusal:
        reason = outcome.refusal or "no reason given"
        extra: dict[str, Any] = {"reason": reason[:500], "stop_reason": "refusal"}
        if outcome.refusal_category:
            extra["category"] = outcome.refusal_category
        return ModelRefusal(f"the model refused the request: {reason[:500]}", **extra)

    # -- one model call --

    def _call(
        self, params: dict[str, Any], budget: Deadline, guards: list[_CallGuard]
    ) -> _CallOutcome:
        left = budget.remaining_s()
        guard = _CallGuard(budget_end=budget.monotonic, max_retries=plan_max_retries(left))
        guards.append(guard)
        if left < MIN_ATTEMPT_S:
            raise classify_model_error(_BudgetExhausted("no time left for a model call"))

        def work() -> _CallOutcome:
            # Creating the client (first call: SDK import, key lookup) counts against the budget.
            client = self.client()
            call_client = client.with_options(
                max_retries=guard.max_retries,
                timeout=left,
                middleware=[*client.middleware, guard.handle],
            )
            return _stream(call_client, params, guard)

        try:
            return _bounded(work, guard)
        except Exception as exc:  # noqa: BLE001 (classified; unknown ones re-raised)
            error = classify_model_error(exc, budget_expired=guard.left_s() <= 0)
            if isinstance(error, ModelError) and error.extra.get("status") == 401:
                self.forget_client(refetch_key=True)
            raise error from None


def _stream(client: anthropic.Anthropic, params: dict[str, Any], guard: _CallGuard) -> _CallOutcome:
    """Stream one message; raises :class:`_IncompleteStream` when ``message_stop`` never came."""
    started = time.monotonic()
    first_token_ms: float | None = None
    stopped = False
    with client.messages.stream(**params) as stream:
        for event in stream:
            if guard.cancelled.is_set():
                raise _Cancelled("the caller stopped waiting")
            if event.type == "text" and first_token_ms is None:
                first_token_ms = round((time.monotonic() - started) * 1000, 1)
            elif event.type == "message_stop":
                stopped = True
        if not stopped:
            raise _IncompleteStream("no message_stop event")
        message = stream.get_final_message()
    text = "".join(block.text for block in message.content if block.type == "text")
    raw = message.usage
    usage = Usage(
        input_tokens=raw.input_tokens or 0,
        output_tokens=raw.output_tokens or 0,
        cache_creation_input_tokens=raw.cache_creation_input_tokens or 0,
        cache_read_input_tokens=raw.cache_read_input_tokens or 0,
    )
    refusal: str | None = None
    category: str | None = None
    if message.stop_reason == "refusal":
        details = message.stop_details
        refusal = (details.explanation if details is not None else None) or "refused"
        category = details.category if details is not None else None
    return _CallOutcome(
        text=text,
        stop_reason=message.stop_reason,
        usage=usage,
        refusal=refusal,
        refusal_category=category,
        first_token_ms=first_token_ms,
    )


def _bounded(work: Callable[[], T], guard: _CallGuard) -> T:
    """Run ``work`` on a daemon thread; stop waiting ``HARD_STOP_GRACE_S`` after the budget.

    The guard bounds every attempt and retry wait, so ``work`` normally ends on
    its own; this is the backstop for a stream that trickles past the budget.
    """
    future: concurrent.futures.Future[T] = concurrent.futures.Future()
    context = contextvars.copy_context()

    def target() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            result = context.run(work)
        except BaseException as exc:  # noqa: BLE001 (handed to the waiting caller)
            future.set_exception(exc)
        else:
            future.set_result(result)

    thread = threading.Thread(target=target, name="model-call", daemon=True)
    thread.start()
    done, _ = concurrent.futures.wait(
        [future], timeout=max(guard.left_s(), 0.0) + HARD_STOP_GRACE_S
    )
    if not done:
        guard.cancelled.set()
        raise _Cancelled("the model call outlived its time budget")
    return future.result()


def preflight(
    definition: AgentDefinition,
    input_text: str,
    *,
    context: Mapping[str, Any] | None = None,
    max_tokens: int | None = None,
    settings: Settings | None = None,
) -> None:
    """The request checks :meth:`Runner.run` makes before any model call, without the call.

    The API runs them before it writes a record, so a caller's mistake (unknown model alias,
    ``max_tokens`` out of range, bad context names, input-contract violation, oversized
    input) is a 4xx with nothing stored. Raises what ``run`` would raise.
    """
    from agents.models import resolve_model

    settings = settings or get_settings()
    resolve_model(definition.model, settings)
    Runner._max_tokens(max_tokens, settings)
    Runner._user_turn(definition, input_text, context, settings)


# --- the container's runner -----------------------------------------------------------


def _forget_runner_client(runner: Runner) -> None:
    runner.forget_client()


#: The container's runner (its SDK client is created lazily, once).
get_runner: PerContainer[Runner] = PerContainer(Runner, on_clear=_forget_runner_client)
