"""The model runner against the fake Messages API: real SDK, real HTTP, real timing."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import pytest

from agents import container, errors
from agents.config import Settings
from agents.definitions import AgentDefinition, load_definition_file, parse_definition
from agents.prompting import CONTRACT_OPEN, REPAIR_OPEN, parse_contract_instruction
from agents.runner import (
    MAX_RETRIES_CAP,
    Deadline,
    Runner,
    classify_model_error,
    get_runner,
    plan_max_retries,
)
from local.fake_anthropic import key_fingerprint
from tests.plugins.model import FAKE_API_KEY, FakeModel
from tests.plugins.threads import run_in_threads

ROOT = Path(__file__).resolve().parents[1]
FLAGSHIP = ROOT / "definitions" / "backend-engineer-python.md"
TASK = "Add a paginated GET /orders endpoint with FastAPI and SQLAlchemy."

REVIEWER = parse_definition(
    """---
name: reviewer
description: Reviews a diff.
model: haiku
output_schema:
  required_sections:
    - name: "VERDICT"
      pattern: "^## VERDICT: (PASS|FAIL|NEEDS_DISCUSSION)$"
    - name: "Summary"
      pattern: "^## Summary"
    - name: "Security"
      pattern: "^## Security"
      required: false
      required_when:
        prompt_contains: "SECURITY REVIEW"
  verdict_values: ["PASS", "FAIL", "NEEDS_DISCUSSION"]
input_schema:
  required_context:
    - name: language
      type: string
  optional_context:
    - name: guidelines
      type: markdown
---
You review code diffs. Be brief.
"""
)

PLAIN = parse_definition(
    """---
name: plain
description: No contracts at all.
model: sonnet
---
You answer questions.
"""
)


@pytest.fixture
def flagship() -> AgentDefinition:
    return load_definition_file(FLAGSHIP)


def deadline(seconds: float = 30) -> Deadline:
    return Deadline.after_ms(seconds * 1000)


def settings_with(**changes: Any) -> Settings:
    return Settings.from_env().model_copy(update=changes)


def last_body(fake_model: FakeModel) -> dict[str, Any]:
    body: dict[str, Any] = fake_model.requests(limit=1)[-1]["body"]
    return body


# --- the happy path and the request shape ---------------------------------------------


def test_flagship_run_is_valid_and_priced(fake_model: FakeModel, flagship: AgentDefinition) -> None:
    result = get_runner().run(flagship, TASK, deadline=deadline())
    assert result.output.startswith("> Offline model:")
    assert result.model.startswith("claude-opus")
    assert result.stop_reason == "end_turn"
    assert result.incomplete is False
    assert result.contract is not None
    assert result.contract.valid, result.contract
    assert result.repaired is False
    assert result.attempts == 1
    assert result.model_calls == 1
    assert result.usage.output_tokens > 0
    assert result.usage.cache_creation_input_tokens > 1000
    assert result.cost_usd > 0
    assert result.timings.time_to_first_token_ms is not None
    assert result.timings.total_ms >= result.timings.time_to_first_token_ms
    assert result.request_ids == [fake_model.requests(limit=1)[-1]["request_id"]]
    assert fake_model.stats()["streamed"] == 1


def test_request_shape(fake_model: FakeModel, flagship: AgentDefinition) -> None:
    get_runner().run(flagship, TASK, deadline=deadline(), max_tokens=3000)
    body = last_body(fake_model)
    assert body["stream"] is True
    assert body["max_tokens"] == 3000
    definition_block, contract_block = body["system"]
    assert definition_block["text"] == flagship.body.strip()
    assert definition_block["cache_control"] == {"type": "ephemeral"}
    assert contract_block["text"].startswith(CONTRACT_OPEN)
    assert contract_block["cache_control"] == {"type": "ephemeral"}
    instruction = parse_contract_instruction(contract_block["text"])
    assert instruction is not None
    assert instruction.headings == [
        "## Summary",
        "## Implementation",
        "## Files Changed",
        "## Testing",
        "## Next Steps",
    ]
    assert body["messages"] == [{"role": "user", "content": TASK}]


def test_second_run_reads_the_definition_from_the_cache(
    fake_model: FakeModel, flagship: AgentDefinition
) -> None:
    runner = get_runner()
    first = runner.run(flagship, TASK, deadline=deadline())
    second = runner.run(flagship, "A different task, same agent.", deadline=deadline())
    assert first.usage.cache_read_input_tokens == 0
    assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens
    assert second.usage.cache_creation_input_tokens == 0
    assert second.cost_usd < first.cost_usd


def test_context_is_rendered_into_the_user_turn(fake_model: FakeModel) -> None:
    result = get_runner().run(
        REVIEWER,
        "Review: def f(): pass",
        context={"guidelines": "PEP 8", "language": "python"},
        deadline=deadline(),
    )
    assert result.contract is not None
    assert result.contract.valid, result.contract
    assert result.contract.verdict in {"PASS", "FAIL", "NEEDS_DISCUSSION"}
    content = last_body(fake_model)["messages"][0]["content"]
    assert content == (
        '<context name="language">\npython\n</context>\n\n'
        '<context name="guidelines">\nPEP 8\n</context>\n\n'
        "Review: def f(): pass"
    )


def test_prompt_dependent_sections_are_asked_for(fake_model: FakeModel) -> None:
    result = get_runner().run(
        REVIEWER, "SECURITY REVIEW of this diff", context={"language": "go"}, deadline=deadline()
    )
    assert "## Security" in result.output
    assert result.contract is not None
    assert result.contract.valid


def test_definition_without_contract(fake_model: FakeModel) -> None:
    result = get_runner().run(PLAIN, "What is 2 + 2?", deadline=deadline())
    assert result.contract is None
    assert len(last_body(fake_model)["system"]) == 1


# --- rejected before any model call ---------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"context": {}}, errors.InputContractError),
        ({"context": {"language": "python", "bad name!": 1}}, errors.ValidationFailed),
        ({"context": {"language": "python"}, "max_tokens": 0}, errors.ValidationFailed),
        ({"context": {"language": "python"}, "max_tokens": 10**9}, errors.ValidationFailed),
    ],
)
def test_invalid_requests_never_reach_the_model(
    fake_model: FakeModel, kwargs: dict[str, Any], error: type[errors.GatewayError]
) -> None:
    with pytest.raises(error) as caught:
        get_runner().run(REVIEWER, "review", deadline=deadline(), **kwargs)
    assert caught.value.retryable is False
    assert fake_model.stats()["calls"] == 0


def test_missing_required_context_lists_the_problems(fake_model: FakeModel) -> None:
    with pytest.raises(errors.InputContractError) as caught:
        get_runner().run(REVIEWER, "review", deadline=deadline())
    assert [problem["field"] for problem in caught.value.problems] == ["language"]
    assert fake_model.stats()["calls"] == 0


def test_oversized_input_is_rejected(
    fake_model: FakeModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_INPUT_CHARS", "100")
    container.reset()
    with pytest.raises(errors.PayloadTooLarge):
        get_runner().run(PLAIN, "x" * 101, deadline=deadline())
    assert fake_model.stats()["calls"] == 0


def test_unknown_model_alias_is_permanent(fake_model: FakeModel) -> None:
    fable = PLAIN.model_copy(update={"model": "definitely-not-a-model"})
    with pytest.raises(errors.UnknownModel) as caught:
        get_runner().run(fable, "hi", deadline=deadline())
    assert caught.value.retryable is False
    assert fake_model.stats()["calls"] == 0


# --- retries and errors ---------------------------------------------------------------


def test_529_then_success(fake_model: FakeModel, flagship: AgentDefinition) -> None:
    fake_model.fault(status=529, count=1)
    result = get_runner().run(flagship, TASK, deadline=deadline())
    assert result.contract is not None
    assert result.contract.valid
    assert result.attempts == 2
    stats = fake_model.stats()
    assert stats["calls"] == 2
    assert stats["by_status"] == {"529": 1, "200": 1}


def test_400_is_permanent_and_not_retried(fake_model: FakeModel) -> None:
    fake_model.fault(status=400, count=3)
    with pytest.raises(errors.ModelError) as caught:
        get_runner().run(PLAIN, "hi", deadline=deadline())
    assert type(caught.value) is errors.ModelError
    assert caught.value.retryable is False
    assert caught.value.extra["status"] == 400
    assert fake_model.stats()["calls"] == 1


def test_401_is_permanent(fake_model: FakeModel) -> None:
    fake_model.fault(status=401, count=1)
    with pytest.raises(errors.ModelError) as caught:
        get_runner().run(PLAIN, "hi", deadline=deadline())
    assert caught.value.retryable is False
    assert caught.value.extra["api_error_type"] == "authentication_error"
    assert FAKE_API_KEY not in json.dumps(caught.value.to_dict())


def test_429_retry_after_is_honoured(fake_model: FakeModel) -> None:
    fake_model.fault(status=429, count=1, retry_after=1)
    started = time.monotonic()
    result = get_runner().run(PLAIN, "hi", deadline=deadline())
    waited = time.monotonic() - started
    assert waited >= 1.0
    assert result.attempts == 2
    assert fake_model.stats()["calls"] == 2


def test_retry_after_past_the_deadline_fails_fast(fake_model: FakeModel) -> None:
    fake_model.fault(status=429, count=1, retry_after=60)
    started = time.monotonic()
    with pytest.raises(errors.ModelUnavailable) as caught:
        get_runner().run(PLAIN, "hi", deadline=deadline(10))
    assert time.monotonic() - started < 8  # not the 10 s deadline, not the 60 s Retry-After
    assert caught.value.retryable is True
    assert caught.value.extra == {"status": 429, "retry_after_s": 60.0}
    assert fake_model.stats()["calls"] == 1


def test_persistent_529_exhausts_retries_as_retryable(
    fake_model: FakeModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_model.fault(status=529, count=50)
    # 1.5 s budget: one retry fits (0.25 + 0.5 + 0.25 s), a second (+ 1 + 0.25 s) does not.
    runner = Runner(settings=settings_with(deadline_margin_ms=0))
    with pytest.raises(errors.ModelUnavailable) as caught:
        runner.run(PLAIN, "hi", deadline=deadline(1.5))
    assert caught.value.retryable is True
    assert caught.value.extra["status"] == 529
    assert fake_model.stats()["calls"] == 2


def test_latency_past_the_deadline_raises_deadline_exceeded(fake_model: FakeModel) -> None:
    fake_model.fault(latency_s=5)
    runner = Runner(settings=settings_with(deadline_margin_ms=200))
    started = time.monotonic()
    with pytest.raises(errors.DeadlineExceeded) as caught:
        runner.run(PLAIN, "hi", deadline=deadline(2))
    elapsed = time.monotonic() - started
    assert elapsed < 2.5
    assert caught.value.retryable is True


def test_no_time_left_means_no_call(fake_model: FakeModel) -> None:
    runner = Runner(settings=settings_with(deadline_margin_ms=1500))
    with pytest.raises(errors.DeadlineExceeded):
        runner.run(PLAIN, "hi", deadline=deadline(1.6))
    assert fake_model.stats()["calls"] == 0


def test_stream_cut_is_retryable_and_returns_nothing(
    fake_model: FakeModel, flagship: AgentDefinition
) -> None:
    fake_model.fault(cut_stream=True, count=1)
    with pytest.raises(errors.StreamInterrupted) as caught:
        get_runner().run(flagship, TASK, deadline=deadline())
    assert caught.value.retryable is True
    assert fake_model.stats()["calls"] == 1


def test_refusal_is_permanent_and_carries_the_reason(fake_model: FakeModel) -> None:
    fake_model.fault(refusal=True, refusal_reason="not allowed here", count=1)
    with pytest.raises(errors.ModelRefusal) as caught:
        get_runner().run(PLAIN, "hi", deadline=deadline())
    assert caught.value.retryable is False
    assert caught.value.extra["reason"] == "not allowed here"
    assert caught.value.error_type == "model-refusal"


def test_max_tokens_marks_the_output_incomplete_without_repair(
    fake_model: FakeModel, flagship: AgentDefinition
) -> None:
    result = get_runner().run(flagship, TASK, deadline=deadline(), max_tokens=40)
    assert result.stop_reason == "max_tokens"
    assert result.incomplete is True
    assert result.repaired is False
    assert result.contract is not None
    assert result.contract.valid is False
    assert fake_model.stats()["calls"] == 1


# --- the repair turn ------------------------------------------------------------------


def test_missing_sections_get_exactly_one_repair_turn(
    fake_model: FakeModel, flagship: AgentDefinition
) -> None:
    fake_model.fault(omit_sections=["Testing", "Next Steps"], count=1)
    result = get_runner().run(flagship, TASK, deadline=deadline())
    assert result.repaired is True
    assert result.contract is not None
    assert result.contract.valid, result.contract
    assert result.model_calls == 2
    assert result.attempts == 2
    stats = fake_model.stats()
    assert stats["calls"] == 2
    assert stats["repair_turns"] == 1
    messages = last_body(fake_model)["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert REPAIR_OPEN in messages[2]["content"]
    assert "Testing, Next Steps" in messages[2]["content"]
    assert "## Testing" not in messages[1]["content"]


def test_still_missing_after_repair_is_invalid_and_listed(
    fake_model: FakeModel, flagship: AgentDefinition
) -> None:
    fake_model.fault(omit_sections=["Testing"], count=2)
    result = get_runner().run(flagship, TASK, deadline=deadline())
    assert result.repaired is True
    assert result.contract is not None
    assert result.contract.valid is False
    assert result.contract.missing == ["Testing"]
    assert fake_model.stats()["calls"] == 2


def test_failed_repair_keeps_the_first_answer(
    fake_model: FakeModel, flagship: AgentDefinition
) -> None:
    fake_model.fault(omit_sections=["Testing"], count=1)
    fake_model.fault(status=400, count=1, skip=1)  # the second call (the repair) fails
    result = get_runner().run(flagship, TASK, deadline=deadline())
    assert result.repaired is False
    assert result.contract is not None
    assert result.contract.missing == ["Testing"]
    assert result.model_calls == 2
    assert fake_model.stats()["by_status"] == {"200": 1, "400": 1}


# --- the client, the key and the singleton --------------------------------------------


def test_one_client_per_container(fake_model: FakeModel) -> None:
    runner = get_runner()
    assert get_runner() is runner
    clients: list[anthropic.Anthropic] = []

    def work() -> None:
        runner.run(PLAIN, "hi", deadline=deadline())
        clients.append(runner.client())

    run_in_threads(work, 4)
    assert len(clients) == 4
    assert len({id(client) for client in clients}) == 1
    container.reset()
    assert get_runner() is not runner


def test_api_key_from_secrets_manager(
    fake_model: FakeModel, aws_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agents import aws

    secret_key = "sk-ant-test-FROM-SECRETS-MANAGER"
    aws.client("secretsmanager").create_secret(
        Name="agw/anthropic", SecretString=json.dumps({"api_key": secret_key})
    )
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.setenv("ANTHROPIC_API_KEY_SECRET", "agw/anthropic")
    container.reset()
    get_runner().run(PLAIN, "hi", deadline=deadline())
    assert fake_model.stats()["last_auth"]["key_sha256_12"] == key_fingerprint(secret_key)


def test_missing_secret_is_permanent(
    fake_model: FakeModel, aws_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.setenv("ANTHROPIC_API_KEY_SECRET", "agw/does-not-exist")
    container.reset()
    with pytest.raises(errors.ConfigurationError) as caught:
        get_runner().run(PLAIN, "hi", deadline=deadline())
    assert not isinstance(caught.value, errors.ModelError)
    assert caught.value.error_type == "configuration-error"
    assert caught.value.status == 500
    assert caught.value.retryable is False
    assert "'agw/does-not-exist'" in caught.value.detail
    assert "ResourceNotFoundException" in caught.value.detail
    assert fake_model.stats()["calls"] == 0


def test_no_key_configured_is_permanent(
    fake_model: FakeModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    container.reset()
    with pytest.raises(errors.ConfigurationError, match="ANTHROPIC_API_KEY"):
        get_runner().run(PLAIN, "hi", deadline=deadline())


# --- deadline arithmetic --------------------------------------------------------------


class _LambdaContext:
    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_deadline_constructors_agree() -> None:
    epoch = Deadline.at_epoch_ms(time.time() * 1000 + 5000)
    after = Deadline.after_ms(5000)
    lambda_ = Deadline.from_lambda_context(_LambdaContext(5000))
    for made in (epoch, after, lambda_):
        assert 4.6 < made.remaining_s() <= 5.0
        assert not made.expired()
    assert abs(epoch.epoch_ms - (time.time() * 1000 + 5000)) < 300
    assert Deadline.after_ms(-1).expired()
    assert after.minus_ms(1000).remaining_s() == pytest.approx(after.remaining_s() - 1, abs=0.05)


def test_retry_plan_fits_the_budget() -> None:
    assert plan_max_retries(0.3) == 0
    assert plan_max_retries(1.0) == 1
    assert plan_max_retries(600) == MAX_RETRIES_CAP
    budgets = [0.5 * n for n in range(60)]
    plans = [plan_max_retries(b) for b in budgets]
    assert plans == sorted(plans)


# --- error classification -------------------------------------------------------------


def _status_error(status: int, error_type: str) -> anthropic.APIStatusError:
    request = httpx2.Request("POST", "http://127.0.0.1/v1/messages")
    body = {"type": "error", "error": {"type": error_type, "message": "boom"}}
    response = httpx2.Response(status, json=body, request=request)
    return anthropic.APIStatusError("boom", response=response, body=body)


@pytest.mark.parametrize(
    ("status", "api_type", "expected", "retryable"),
    [
        (400, "invalid_request_error", errors.ModelError, False),
        (401, "authentication_error", errors.ModelError, False),
        (403, "permission_error", errors.ModelError, False),
        (404, "not_found_error", errors.ModelError, False),
        (413, "request_too_large", errors.ModelError, False),
        (422, "invalid_request_error", errors.ModelError, False),
        (408, "timeout_error", errors.ModelUnavailable, True),
        (429, "rate_limit_error", errors.ModelUnavailable, True),
        (500, "api_error", errors.ModelUnavailable, True),
        (503, "api_error", errors.ModelUnavailable, True),
        (529, "overloaded_error", errors.ModelUnavailable, True),
        (200, "overloaded_error", errors.StreamInterrupted, True),
    ],
)
def test_classification_of_status_errors(
    status: int, api_type: str, expected: type[errors.GatewayError], retryable: bool
) -> None:
    error = classify_model_error(_status_error(status, api_type))
    assert type(error) is expected
    assert error.retryable is retryable
    assert error.extra["status"] == status


def test_classification_of_transport_errors() -> None:
    request = httpx2.Request("POST", "http://127.0.0.1/v1/messages")
    timeout = anthropic.APITimeoutError(request=request)
    assert isinstance(classify_model_error(timeout), errors.ModelUnavailable)
    assert isinstance(classify_model_error(timeout, budget_expired=True), errors.DeadlineExceeded)
    connection = anthropic.APIConnectionError(request=request)
    assert type(classify_model_error(connection)) is errors.ModelUnavailable
    cut = httpx2.RemoteProtocolError("peer closed connection")
    assert type(classify_model_error(cut)) is errors.StreamInterrupted
    passthrough = errors.UnknownModel("nope")
    assert classify_model_error(passthrough) is passthrough
    with pytest.raises(ValueError, match="a bug"):
        classify_model_error(ValueError("a bug"))


# --- the wall-clock backstop ---------------------------------------------------------


def test_a_trickling_stream_is_cut_off_at_the_deadline(
    fake_model: FakeModel, flagship: AgentDefinition, monkeypatch: pytest.MonkeyPatch
) -> None:
    from local.fake_anthropic import FakeAnthropicServer

    # Every delta arrives well within the read timeout, but the whole answer would take
    # several seconds: only the wall-clock backstop can stop it.
    with FakeAnthropicServer(delta_delay_s=0.2) as slow:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", slow.url)
        container.reset()
        runner = Runner(settings=settings_with(deadline_margin_ms=0))
        started = time.monotonic()
        with pytest.raises(errors.DeadlineExceeded):
            runner.run(flagship, TASK, deadline=deadline(1.5))
        assert time.monotonic() - started < 2.5
        runner.forget_client()
