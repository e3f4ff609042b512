"""Every AWS call each function makes, and on what: the one table behind the IAM policies.

``test_template_consistency`` checks that each function's execution role in
template.yaml allows exactly these (action, resource) pairs: nothing missing (the call
would fail with AccessDenied in AWS, where moto never checks) and nothing extra (least
privilege). When the code starts making a new call, add a row here and the statement
to the function's role in template.yaml; the test fails until both agree.

Resources use the canonical form of ``tests/infra/cfn.py::canonical``: ``<Logical>``
is the ARN of a template resource, ``<Logical>/index/*`` a sub-resource, ``<Param>``
a template parameter.
"""

from __future__ import annotations

from typing import NamedTuple


class Call(NamedTuple):
    action: str
    resource: str
    why: str


BUCKET = "<AgentsBucket>"
AGENT_OBJECTS = "<AgentsBucket>/agents/*"
PAYLOAD_OBJECTS = "<AgentsBucket>/payloads/*"
WORKSPACE_OBJECTS = "<AgentsBucket>/workspaces/*"
INVOCATIONS = "<InvocationsTable>"
INVOCATION_INDEXES = "<InvocationsTable>/index/*"
SWEEP_INDEX = "<InvocationsTable>/index/SweepIndex"
IDEMPOTENCY = "<IdempotencyTable>"
EVENTS = "<EventsTable>"
QUEUE = "<InvocationQueue>"
DLQ = "<DeadLetterQueue>"
ECONOMY_QUEUE = "<EconomyQueue>"
TENANTS = "<TenantsTable>"
TENANT_INDEX = "<TenantsTable>/index/by-tenant"
WEBHOOK_QUEUE = "<WebhookQueue>"
WEBHOOK_DLQ = "<WebhookDeadLetterQueue>"
WEBHOOK_SECRETS = (
    "arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>"
    ":secret:<AWS::StackName>/webhooks/*"
)
PEPPER = "<TenantKeyPepper>"
SECRET = (
    "arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>"
    ":secret:<AnthropicApiKeySecretName>-??????"
)
MCP_TOKENS = (
    "arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:agent-gateway/mcp/*"
)

#: S3 prefixes the policies are scoped to; the functions' AGENTS_PREFIX/PAYLOAD_PREFIX
#: environment must agree (checked).
AGENTS_PREFIX = "agents/"
PAYLOAD_PREFIX = "payloads/"

_PLATFORM = (
    Call("logs:CreateLogStream", "<{fn}LogGroup>", "Lambda writes the function's logs"),
    Call("logs:PutLogEvents", "<{fn}LogGroup>", "Lambda writes the function's logs"),
    Call("xray:PutTraceSegments", "*", "active tracing (no resource-level permissions)"),
    Call("xray:PutTelemetryRecords", "*", "active tracing (no resource-level permissions)"),
)

#: agents.events: every function that makes a lifecycle transition appends to the log.
_EVENTS = (
    Call(
        "dynamodb:PutItem",
        EVENTS,
        "events: append (a conditional put, or TransactWriteItems of conditional puts)",
    ),
    Call("dynamodb:Query", EVENTS, "events: the log's tail, a page, the long-poll"),
)

_CORE = (
    # agents.registry: definitions under s3://$AGENTS_BUCKET/$AGENTS_PREFIX
    Call("s3:GetObject", AGENT_OBJECTS, "registry: read a definition (ETag revalidation)"),
    Call("s3:GetObjectVersion", AGENT_OBJECTS, "registry: read a pinned S3 object version"),
    Call("s3:ListBucket", BUCKET, "registry: list agents (prefix agents/)"),
    Call("s3:ListBucketVersions", BUCKET, "registry: list a definition's versions"),
    # agents.store: payloads too large for a DynamoDB item
    Call("s3:PutObject", PAYLOAD_OBJECTS, "store: offload a large input/output"),
    Call("s3:GetObject", PAYLOAD_OBJECTS, "store: read an offloaded input/output"),
    # agents.store: invocation and batch records
    Call("dynamodb:GetItem", INVOCATIONS, "store: read an invocation or batch"),
    Call("dynamodb:PutItem", INVOCATIONS, "store: create an invocation or batch"),
    Call("dynamodb:UpdateItem", INVOCATIONS, "store: state transitions, lease, cancel"),
    Call("dynamodb:Query", INVOCATION_INDEXES, "store: by-tenant and by-batch listings"),
    # Powertools idempotency (DynamoDBPersistenceLayer)
    Call("dynamodb:GetItem", IDEMPOTENCY, "idempotency: read a record"),
    Call("dynamodb:PutItem", IDEMPOTENCY, "idempotency: claim a key (conditional put)"),
    Call("dynamodb:UpdateItem", IDEMPOTENCY, "idempotency: save the result"),
    Call("dynamodb:DeleteItem", IDEMPOTENCY, "idempotency: release a key after a failure"),
    # failures are sent to the DLQ explicitly, exactly once
    Call("sqs:SendMessage", DLQ, "DLQ message for a FAILED invocation (also SendMessageBatch)"),
    # agents.secrets: Powertools parameters get_secret, cached
    Call("secretsmanager:GetSecretValue", SECRET, "the Anthropic API key"),
    # agents.tools.server_tools.read_secret: MCP_SERVERS bearer tokens (config prefix)
    Call("secretsmanager:GetSecretValue", MCP_TOKENS, "MCP connector tokens"),
    # agents.tenants.budget: check_budget (GetItem) and record_spend (one UpdateItem ADD)
    Call("dynamodb:GetItem", TENANTS, "budgets: the tenant's caps and spend"),
    Call("dynamodb:UpdateItem", TENANTS, "budgets: add a turn's cost to the counters"),
    *_EVENTS,
    # agents.webhooks.notifier: a terminal transition announces itself
    Call("sqs:SendMessage", WEBHOOK_QUEUE, "webhooks: the transition's event"),
    Call("dynamodb:Query", TENANT_INDEX, "webhooks: does the tenant subscribe? (cached 60 s)"),
)

#: logical id of the function -> every call its role must allow, and nothing more.
CALLS: dict[str, tuple[Call, ...]] = {
    "ApiFunction": (
        *(c._replace(resource=c.resource.format(fn="ApiFunction")) for c in _PLATFORM),
        *_CORE,
        Call("sqs:SendMessage", QUEUE, "enqueue async runs and batches (also SendMessageBatch)"),
        # agents.workspace.uploads: presigned PUT (signed with this role), HeadObject, load
        Call(
            "s3:PutObject", WORKSPACE_OBJECTS, "workspaces: presign an upload, stage inline files"
        ),
        Call(
            "s3:GetObject", WORKSPACE_OBJECTS, "workspaces: check (HeadObject) and load an upload"
        ),
    ),
    "WorkerFunction": (
        *(c._replace(resource=c.resource.format(fn="WorkerFunction")) for c in _PLATFORM),
        *_CORE,
        # the SQS event source mapping polls with the function's role
        Call("sqs:ReceiveMessage", QUEUE, "event source mapping: poll"),
        Call("sqs:DeleteMessage", QUEUE, "event source mapping: delete processed messages"),
        Call("sqs:GetQueueAttributes", QUEUE, "event source mapping: queue attributes"),
        Call("sqs:ChangeMessageVisibility", QUEUE, "worker: back off a retryable record"),
        Call("s3:GetObject", WORKSPACE_OBJECTS, "workspaces: load the run's uploaded archive"),
        Call("sqs:SendMessage", ECONOMY_QUEUE, "worker: hand an economy item to the submitter"),
        Call("sqs:SendMessage", QUEUE, "worker: the continuation of a handed-off run"),
    ),
    "CollectorFunction": (
        *(c._replace(resource=c.resource.format(fn="CollectorFunction")) for c in _PLATFORM),
        Call("s3:GetObject", AGENT_OBJECTS, "registry: read a definition (ETag revalidation)"),
        Call("s3:GetObjectVersion", AGENT_OBJECTS, "registry: read a pinned S3 object version"),
        Call("s3:ListBucket", BUCKET, "registry: resolve a pinned frontmatter version"),
        Call("s3:ListBucketVersions", BUCKET, "registry: list a definition's versions"),
        Call("s3:PutObject", PAYLOAD_OBJECTS, "store: offload a large output"),
        Call("s3:GetObject", PAYLOAD_OBJECTS, "store: read an offloaded input"),
        Call("dynamodb:GetItem", INVOCATIONS, "store: read items and tracking items"),
        Call("dynamodb:PutItem", INVOCATIONS, "store: write a tracking item"),
        Call("dynamodb:UpdateItem", INVOCATIONS, "store: reserve, apply results, open set"),
        Call("sqs:ReceiveMessage", ECONOMY_QUEUE, "submitter: take economy hand-offs"),
        Call("sqs:DeleteMessage", ECONOMY_QUEUE, "submitter: done hand-offs (also batch)"),
        Call("sqs:SendMessage", ECONOMY_QUEUE, "collector: free an item for resubmission"),
        Call("sqs:SendMessage", DLQ, "DLQ message for a FAILED invocation"),
        Call("secretsmanager:GetSecretValue", SECRET, "the Anthropic API key"),
        *_EVENTS,
        Call("sqs:SendMessage", WEBHOOK_QUEUE, "webhooks: an economy item's terminal event"),
    ),
    "SweeperFunction": (
        *(c._replace(resource=c.resource.format(fn="SweeperFunction")) for c in _PLATFORM),
        # agents.sweeper: overdue records through the sparse index only (never a Scan)
        Call("dynamodb:Query", SWEEP_INDEX, "sweeper: records due for a sweep (SweepIndex)"),
        Call("dynamodb:GetItem", INVOCATIONS, "sweeper: the full record of a due entry"),
        Call("dynamodb:UpdateItem", INVOCATIONS, "sweeper: resume, fail or reschedule a record"),
        Call("sqs:SendMessage", QUEUE, "sweeper: the continuation message of a resumed run"),
        Call("sqs:SendMessage", DLQ, "DLQ message for an abandoned or timed-out run"),
        # its transitions write their events and announce themselves (store._after_transition)
        *_EVENTS,
        Call("sqs:SendMessage", WEBHOOK_QUEUE, "webhooks: an abandoned / timed-out run's event"),
    ),
    "AuthorizerFunction": (
        *(c._replace(resource=c.resource.format(fn="AuthorizerFunction")) for c in _PLATFORM),
        Call("dynamodb:GetItem", TENANTS, "authorizer: the key's hash and its tenant"),
        Call("dynamodb:UpdateItem", TENANTS, "authorizer: last_used_at, every few minutes"),
        Call("secretsmanager:GetSecretValue", PEPPER, "authorizer: the key hash pepper"),
    ),
    "WebhookFunction": (
        *(c._replace(resource=c.resource.format(fn="WebhookFunction")) for c in _PLATFORM),
        Call("sqs:ReceiveMessage", WEBHOOK_QUEUE, "event source mapping: poll"),
        Call("sqs:DeleteMessage", WEBHOOK_QUEUE, "event source mapping: delete processed"),
        Call("sqs:GetQueueAttributes", WEBHOOK_QUEUE, "event source mapping: queue attributes"),
        Call("sqs:ChangeMessageVisibility", WEBHOOK_QUEUE, "event source mapping: back off"),
        Call("sqs:SendMessage", WEBHOOK_QUEUE, "processor: deliveries, retries (also batch)"),
        Call("sqs:SendMessage", WEBHOOK_DLQ, "processor: a delivery that gave up"),
        Call("dynamodb:UpdateItem", INVOCATIONS, "store: count a batch's finished items"),
        Call("dynamodb:GetItem", TENANTS, "subscriptions: still active before an attempt"),
        Call("dynamodb:UpdateItem", TENANTS, "subscriptions: disable after 410 Gone"),
        Call("dynamodb:Query", TENANT_INDEX, "subscriptions: the tenant's, by-tenant index"),
        Call("secretsmanager:GetSecretValue", WEBHOOK_SECRETS, "signing: the tenant's secret"),
        Call("secretsmanager:CreateSecret", WEBHOOK_SECRETS, "signing: a tenant's first secret"),
    ),
}

#: Statements allowed on Resource "*" (the action supports no resource-level permission).
WILDCARD_ACTIONS = frozenset({"xray:PutTraceSegments", "xray:PutTelemetryRecords"})
