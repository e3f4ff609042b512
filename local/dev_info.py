"""What ``agw dev`` started (:class:`DevInfo`): URLs, keys, resources; its ``.agw/dev.json``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from local.dev_file import DevFile, DevFileModel, DevFileResources
from local.invoke import OFFLINE_API_KEY

__all__ = [
    "APPROVAL_DEMO_ENABLED",
    "APPROVAL_DEMO_TOOLS",
    "DEMO_INPUT",
    "FLAGSHIP_AGENT",
    "TOOL_DEMO_AGENT",
    "TOOL_DEMO_ENABLED",
    "TOOL_DEMO_FILES",
    "TOOL_DEMO_INPUT",
    "DevInfo",
    "approval_demo_body",
    "event_log_lines",
    "generate_api_key",
    "tool_demo_body",
]

#: The agent ``agw dev`` demonstrates and its curl example invokes.
FLAGSHIP_AGENT = "backend-engineer-python"
DEMO_INPUT = (
    "Add a GET /health endpoint to a FastAPI service that reports the database "
    "connection status, with a pytest test."
)

#: The tool run ``agw dev`` demonstrates: an agent that acts on files (issue 14).
TOOL_DEMO_AGENT = "python-fixer"
TOOL_DEMO_INPUT = "mean() in stats.py crashes on an empty list; make it return 0.0 instead."
TOOL_DEMO_FILES: dict[str, str] = {
    "stats.py": (
        '"""Small statistics helpers."""\n'
        "\n"
        "\n"
        "def mean(values: list[float]) -> float:\n"
        "    # TODO: an empty list raises ZeroDivisionError\n"
        "    return sum(values) / len(values)\n"
    ),
    "test_stats.py": (
        "from stats import mean\n\n\ndef test_mean() -> None:\n    assert mean([1.0, 3.0]) == 2.0\n"
    ),
}
#: ``agw dev``'s demo also POSTs :func:`tool_demo_body` to ``TOOL_DEMO_AGENT`` (issue 14).
TOOL_DEMO_ENABLED = True
#: ...and the same run with :data:`APPROVAL_DEMO_TOOLS` needing approval: it stops WAITING
#: and ``agw dev`` prints how to approve it (issue 15).
APPROVAL_DEMO_ENABLED = True
APPROVAL_DEMO_TOOLS = ["Edit"]


def tool_demo_body() -> dict[str, Any]:
    """The invocation body of the tool demo: the task and its files."""
    return {"input": TOOL_DEMO_INPUT, "files": dict(TOOL_DEMO_FILES)}


def approval_demo_body() -> dict[str, Any]:
    """The tool demo's body with its Edit calls waiting for approval."""
    return {**tool_demo_body(), "require_approval": list(APPROVAL_DEMO_TOOLS)}


def event_log_lines(invocation_id: str, events: list[dict[str, Any]]) -> list[str]:
    """What the demo says about a run's event log (``GET /invocations/{id}/events``): how
    many events, whether their seqs run 1..N with no gap, the statuses, and how to follow a
    run live."""
    seqs = [int(event.get("seq") or 0) for event in events]
    gapless = seqs == list(range(1, len(seqs) + 1))
    counts: dict[str, int] = {}
    for event in events:
        kind = str(event.get("type"))
        counts[kind] = counts.get(kind, 0) + 1
    statuses = [
        str((event.get("data") or {}).get("status"))
        for event in events
        if event["type"] == "status"
    ]
    return [
        f"event log: {len(events)} events, seq 1..{len(events)}"
        f" {'with no gaps' if gapless else 'WITH GAPS: ' + str(seqs)}",
        "event log: " + ", ".join(f"{kind} x{count}" for kind, count in counts.items()),
        f"event log: status {' -> '.join(statuses)}",
        f"event log: GET /invocations/{invocation_id}/events?after=0 (SSE: Accept: "
        "text/event-stream); live: agw invocations follow ID, agw invoke ... --follow",
    ]


def generate_api_key() -> str:
    """A fresh local tenant key ``agw_<key id>_<secret>`` (KEYS mode; also a valid local
    API key in API_KEY mode). It means nothing outside this ``agw dev``."""
    from agents.tenants.keys import generate_key

    return generate_key().value


class DevInfo(BaseModel):
    """What :meth:`DevStack.start` started: where it listens and what it created."""

    model_config = ConfigDict(frozen=True)

    api_url: str
    aws_url: str
    #: ``offline`` (the fake Messages API) or ``anthropic`` (the real API).
    model: Literal["offline", "anthropic"]
    #: The fake Messages API (its ``/_fake/*`` control endpoints), or ``None`` with the real API.
    model_url: str | None
    api_keys: list[str]
    #: API key -> tenant (KEYS: the tenant created for the key; API_KEY: the key id).
    tenants: dict[str, str]
    stack_name: str
    region: str
    queue_url: str
    dlq_url: str
    agents_bucket: str
    agents_prefix: str
    #: Agent names pushed from the definitions folder.
    agents: list[str]
    #: The environment both functions run with (``ANTHROPIC_API_KEY`` left out).
    environment: dict[str, str]
    #: Variables the two functions set differently (the first function's value is used).
    environment_conflicts: list[str]
    worker: bool
    started_in_s: float
    #: The worker function's timeout locally (``agw dev --worker-timeout``); None: no worker.
    worker_timeout_s: float | None = None
    #: Seconds between two sweeps (``agw dev --sweeper-period``); None: no sweeper.
    sweeper_period_s: float | None = None
    #: API key -> its tenant's webhook signing secret (empty without webhooks).
    webhook_secrets: dict[str, str] = {}

    def dev_file(self, *, pid: int, project_root: Path, started_at: str) -> DevFile:
        """What ``agw dev`` writes to ``.agw/dev.json`` (no real Anthropic key in it)."""
        env = self.environment
        offline = self.model == "offline"
        return DevFile(
            pid=pid,
            started_at=started_at,
            project_root=str(project_root),
            stack_name=self.stack_name,
            region=self.region,
            api_url=self.api_url,
            aws_url=self.aws_url,
            model=DevFileModel(
                kind=self.model,
                base_url=self.model_url if offline else os.environ.get("ANTHROPIC_BASE_URL"),
                key_source="offline-placeholder" if offline else "environment",
                offline_api_key=OFFLINE_API_KEY if offline else None,
            ),
            resources=DevFileResources(
                invocations_table=env.get("INVOCATIONS_TABLE", ""),
                idempotency_table=env.get("IDEMPOTENCY_TABLE", ""),
                queue_url=self.queue_url,
                dlq_url=self.dlq_url,
                agents_bucket=self.agents_bucket,
                agents_prefix=self.agents_prefix,
                payload_bucket=env.get("PAYLOAD_BUCKET", ""),
                payload_prefix=env.get("PAYLOAD_PREFIX", "payloads/"),
                tenants_table=env.get("TENANTS_TABLE", ""),
                tenant_key_pepper_secret=env.get("TENANT_KEY_PEPPER_SECRET", ""),
                webhook_queue_url=env.get("WEBHOOK_QUEUE_URL", ""),
                webhook_dlq_url=env.get("WEBHOOK_DLQ_URL", ""),
                webhook_secret_prefix=env.get("WEBHOOK_SECRET_PREFIX", ""),
            ),
            tenants=dict(self.tenants),
            environment=dict(self.environment),
            webhook_secrets=dict(self.webhook_secrets),
        )

    def curl_invoke(
        self,
        agent: str = FLAGSHIP_AGENT,
        text: str | None = None,
        *,
        files: dict[str, str] | None = None,
    ) -> str:
        """A ready-to-paste curl for a synchronous invocation of ``agent`` (with ``files``)."""
        payload: dict[str, Any] = {"input": text or DEMO_INPUT}
        if files is not None:
            payload["files"] = files
        body = json.dumps(payload)
        quoted = "'" + body.replace("'", "'\\''") + "'"
        return (
            f"curl -sS {self.api_url}/agents/{agent}/invocations \\\n"
            f"  -H 'x-api-key: {self.api_keys[0]}' -H 'Content-Type: application/json' \\\n"
            f"  -d {quoted}"
        )
