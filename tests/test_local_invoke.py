"""local.invoke and `agw local invoke`: the `sam local invoke` stand-in."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from agw.cli import main
from local.aws_stack import StackDescription, create_resources
from local.invoke import (
    DEFAULT_AWS_ENDPOINT,
    invoke_function,
    load_env_vars,
    resolve_endpoint,
)
from local.template import Template, TemplateError

pytestmark = pytest.mark.integration

HANDLER_CODE = """
import os

from agents import aws


def handler(event, context):
    queue_url = os.environ["QUEUE_URL"]
    attrs = aws.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    return {
        "event": event,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "function_name": context.function_name,
        "memory": context.memory_limit_in_mb,
        "env": {k: os.environ.get(k) for k in ("QUEUE_URL", "GREETING", "ONLY_ECHO", "UNDECLARED",
                                               "AWS_LAMBDA_FUNCTION_NAME", "AWS_SAM_LOCAL")},
        "queue_arn": attrs["Attributes"]["QueueArn"],
    }


def boom(event, context):
    raise ValueError("bad event: " + str(event.get("n")))
"""

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  Greeting: {{Type: String, Default: hello}}
Globals:
  Function:
    Runtime: python3.13
    CodeUri: code/
    Timeout: 7
    Environment:
      Variables:
        QUEUE_URL: !Ref Jobs
        GREETING: !Ref Greeting
Resources:
  Jobs:
    Type: AWS::SQS::Queue
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: {module}.handler
      MemorySize: 256
      Environment:
        Variables:
          ONLY_ECHO: "1"
  BoomFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: {module}.boom
"""


@pytest.fixture
def project(tmp_path: Path, aws_endpoint: str) -> tuple[Path, StackDescription]:
    """A tiny SAM project (template + handler module) with its queue on moto."""
    module = f"standin_{uuid.uuid4().hex[:8]}"
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / f"{module}.py").write_text(HANDLER_CODE)
    template = tmp_path / "template.yaml"
    template.write_text(TEMPLATE.format(module=module))
    stack = create_resources(Template.load(template, endpoint_url=aws_endpoint))
    return template, stack


def test_runs_the_handler_with_template_env_and_context(
    project: tuple[Path, StackDescription], aws_endpoint: str
) -> None:
    path, stack = project
    template = Template.load(path, endpoint_url=aws_endpoint)
    before = dict(os.environ)
    result = invoke_function(template, "EchoFunction", {"hello": "world"})
    assert result.error is None
    response: dict[str, Any] = result.response
    assert response["event"] == {"hello": "world"}
    assert 0 < response["remaining_ms"] <= 7000  # the template's Timeout (Globals)
    assert response["memory"] == 256
    assert response["env"]["QUEUE_URL"] == stack.queues["Jobs"].url
    assert response["env"]["GREETING"] == "hello"
    assert response["env"]["ONLY_ECHO"] == "1"
    assert response["env"]["AWS_LAMBDA_FUNCTION_NAME"] == response["function_name"]
    assert response["env"]["AWS_SAM_LOCAL"] == "true"
    assert response["queue_arn"] == stack.queues["Jobs"].arn  # reached moto via the env
    assert dict(os.environ) == before  # the environment is restored


def test_env_vars_file_follows_sam_rules(
    project: tuple[Path, StackDescription], aws_endpoint: str, tmp_path: Path
) -> None:
    path, _ = project
    env_file = tmp_path / "env.json"
    env_file.write_text(
        json.dumps(
            {
                "Parameters": {"GREETING": "from-parameters", "ONLY_ECHO": "2"},
                "EchoFunction": {"GREETING": "from-function", "UNDECLARED": "x"},
                "BoomFunction": {"GREETING": "not-mine"},
            }
        )
    )
    template = Template.load(path, endpoint_url=aws_endpoint)
    result = invoke_function(template, "EchoFunction", {}, env_vars=load_env_vars(env_file))
    env = result.response["env"]
    assert env["GREETING"] == "from-function"  # the function's entry beats Parameters
    assert env["ONLY_ECHO"] == "2"  # Parameters apply to every function
    assert env["UNDECLARED"] is None  # SAM ignores variables the template does not declare
    assert result.ignored_env_vars == ["UNDECLARED"]
    broken = tmp_path / "broken.json"
    broken.write_text('{"EchoFunction": "not a map"}')
    with pytest.raises(TemplateError, match="--env-vars"):
        load_env_vars(broken)


def test_handler_error_is_reported_like_lambda(
    project: tuple[Path, StackDescription], aws_endpoint: str
) -> None:
    path, _ = project
    result = invoke_function(
        Template.load(path, endpoint_url=aws_endpoint), "BoomFunction", {"n": 7}
    )
    assert result.response is None
    assert result.error is not None
    assert result.error["errorType"] == "ValueError"
    assert result.error["errorMessage"] == "bad event: 7"
    assert result.error["stackTrace"]


def test_cli_prints_the_response(
    project: tuple[Path, StackDescription],
    aws_endpoint: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, stack = project
    event = tmp_path / "event.json"
    event.write_text('{"from": "file"}')
    argv = ["local", "invoke", "EchoFunction", "-e", str(event), "-t", str(path)]
    assert main([*argv, "--aws-endpoint", aws_endpoint]) == 0
    out, err = capsys.readouterr()
    response = json.loads(out)
    assert response["event"] == {"from": "file"}
    assert response["queue_arn"] == stack.queues["Jobs"].arn
    assert "EchoFunction ran in" in err
    # --parameter-overrides reaches the environment
    assert (
        main([*argv, "--aws-endpoint", aws_endpoint, "--parameter-overrides", "Greeting=hey"]) == 0
    )
    assert json.loads(capsys.readouterr().out)["env"]["GREETING"] == "hey"
    # a raising handler: Lambda's error shape on stdout, exit status 1
    assert (
        main(["local", "invoke", "BoomFunction", "-t", str(path), "--aws-endpoint", aws_endpoint])
        == 1
    )
    error = json.loads(capsys.readouterr().out)
    assert (error["errorType"], error["errorMessage"]) == ("ValueError", "bad event: None")
    # usage errors: exit status 2 with one clear line
    assert main(["local", "invoke", "Nope", "-t", str(path), "--aws-endpoint", aws_endpoint]) == 2
    assert "no resource 'Nope'" in capsys.readouterr().err
    assert main(["local", "invoke", "EchoFunction", "-t", str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read template" in capsys.readouterr().err


def test_cli_warns_when_no_stack_answers(
    project: tuple[Path, StackDescription], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = project
    code = main(
        ["local", "invoke", "BoomFunction", "-t", str(path), "--aws-endpoint", "http://127.0.0.1:9"]
    )
    assert code == 1
    assert "no local stack answers at http://127.0.0.1:9" in capsys.readouterr().err


def test_endpoint_resolution() -> None:
    assert resolve_endpoint("http://x:1/") == "http://x:1"
    assert resolve_endpoint(None, {"AWS_ENDPOINT_URL": "http://y:2"}) == "http://y:2"
    assert resolve_endpoint(None, {}) == DEFAULT_AWS_ENDPOINT == "http://127.0.0.1:5050"


def test_project_template_worker_env_reaches_the_local_stack(
    local_stack: StackDescription, project_template: Template
) -> None:
    """The real WorkerFunction's environment, with a test double for its handler."""

    def double(event: dict[str, Any], context: Any) -> dict[str, Any]:
        from agents import aws
        from agents.config import get_settings

        settings = get_settings()
        attrs = aws.client("sqs").get_queue_attributes(
            QueueUrl=settings.invocation_queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]
        tables = aws.client("dynamodb").describe_table(TableName=settings.invocations_table)
        return {
            "queue_arn": attrs["QueueArn"],
            "table": tables["Table"]["TableName"],
            "max_receive_count": settings.max_receive_count,
            "remaining_ms": context.get_remaining_time_in_millis(),
            "records": len(event["Records"]),
        }

    result = invoke_function(project_template, "WorkerFunction", {"Records": [{}]}, handler=double)
    assert result.error is None
    assert result.response["queue_arn"] == local_stack.queues["InvocationQueue"].arn
    assert result.response["table"] == local_stack.tables["InvocationsTable"].name
    assert result.response["max_receive_count"] == 3
    assert 800_000 < result.response["remaining_ms"] <= 900_000  # Timeout: 900


def test_events_env_json_is_generated_from_the_template(capsys: pytest.CaptureFixture[str]) -> None:
    """events/env.json (for `sam local invoke` in Docker) never drifts from template.yaml."""
    from local.invoke import docker_env_vars
    from tests.plugins.local_stack import PROJECT_TEMPLATE, REPO

    shipped = json.loads((REPO / "events" / "env.json").read_text())
    assert shipped == docker_env_vars(PROJECT_TEMPLATE)
    values = shipped["Parameters"]
    assert values["AWS_ENDPOINT_URL"] == "http://host.docker.internal:5050"
    assert values["INVOCATION_QUEUE_URL"].startswith("http://host.docker.internal:5050/")
    assert values["ANTHROPIC_API_KEY_SECRET"] == ""
    assert main(["local", "env-vars", "-t", str(PROJECT_TEMPLATE)]) == 0
    assert json.loads(capsys.readouterr().out) == shipped
    assert main(["local", "env-vars", "-t", str(PROJECT_TEMPLATE), "--host", "127.0.0.1"]) == 0
    linux = json.loads(capsys.readouterr().out)["Parameters"]
    assert linux["DLQ_URL"].startswith("http://127.0.0.1:5050/")
