"""``agw dev`` as a user and a script run it: a child process, READY, the printed curl,
SIGINT/SIGTERM, exit codes, and nothing left behind (ports free, process group gone)."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.plugins.dev_stack import REPO, DevProcess, start_agw_dev

pytestmark = pytest.mark.integration


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/", maxsplit=1)[0])


def port_is_free(port: int) -> bool:
    """Nothing listens on ``port`` (SO_REUSEADDR, as the servers bind: connections of the
    stopped server lingering in TIME_WAIT do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            return False
    return True


def group_is_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def assert_nothing_left(proc: DevProcess, ports: list[int]) -> None:
    assert group_is_gone(proc.process.pid), "a process of agw dev's group is still alive"
    for port in ports:
        assert port_is_free(port), f"port {port} is still taken after agw dev stopped"


def assert_dev_file(path: Path, info: dict[str, object], key: str) -> None:
    """.agw/dev.json: 0600 in a 0700 directory, where the stack is, never a real model key."""
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    dev = json.loads(path.read_text())
    assert dev["schema_version"] == 1
    assert dev["api_url"] == info["api_url"]
    assert dev["aws_url"] == info["aws_url"]
    assert dev["model"] == {
        "kind": "offline",
        "base_url": info["model_url"],
        "key_source": "offline-placeholder",
        "offline_api_key": "offline-local-model",
    }
    assert dev["resources"]["dlq_url"] == info["dlq_url"]
    assert dev["resources"]["queue_url"] == info["queue_url"]
    assert dev["resources"]["invocations_table"].endswith("InvocationsTable")
    assert key in dev["tenants"]
    assert "ANTHROPIC_API_KEY" not in dev["environment"]
    # webhooks: each local key's tenant has a signing secret; local receivers are allowed
    assert dev["webhook_secrets"][key].startswith("whsec_")
    assert dev["environment"]["WEBHOOK_ALLOW_LOCAL"] == "true"
    assert dev["resources"]["webhook_dlq_url"]


def test_agw_dev_demo_ready_curl_and_sigint(tmp_path: Path) -> None:
    key = "agw_kdevclitestkeyaaa_dev-cli-test-key-123-aaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    info_file = tmp_path / "info.json"
    proc = start_agw_dev(
        tmp_path,
        [
            "--port",
            "0",
            "--aws-port",
            "0",
            "--model-port",
            "0",
            "--api-key",
            key,
            "--info-file",
            str(info_file),
        ],
    )
    try:
        api_url = proc.wait_ready()
        info = json.loads(info_file.read_text())
        dev_file = tmp_path / "agw-dev.dev.json"
        assert_dev_file(dev_file, info, key)
        stdout = proc.stdout
        # one READY line, last, with the API URL; the key, the offline banner, the curl
        assert [line for line in stdout.splitlines() if line.startswith("READY")] == [
            f"READY {api_url}"
        ]
        assert stdout.rstrip().endswith(f"READY {api_url}")
        assert "OFFLINE MODEL" in stdout
        assert key in stdout
        assert "in moto's memory" in stdout
        # the demo ran the flagship through the API and printed output, contract, usage, cost
        assert "> Offline model:" in stdout
        assert re.search(
            r"demo: invocation inv_\w+ +SUCCEEDED +agent backend-engineer-python", stdout
        )
        assert "demo: contract: valid" in stdout
        assert re.search(r"demo: usage: \d+ input, \d+ output.*cost \$\d", stdout)
        # then the tool demo: python-fixer acted on its files (Read, Edit, a file changed)
        assert re.search(r"demo: invocation inv_\w+ +SUCCEEDED +agent python-fixer", stdout)
        turns = re.search(r"demo: turns: (\d+)", stdout)
        assert turns, stdout
        assert int(turns.group(1)) >= 3
        calls = re.search(r"demo: tool_calls: (.*)", stdout)
        assert calls, stdout
        assert {"Read", "Edit"} <= set(re.findall(r"(\w+) x\d+", calls.group(1)))
        changed = re.search(r"demo: files_changed: (.*)", stdout)
        assert changed, stdout
        assert changed.group(1) not in {"", "none"}
        # the tool demo's event log, offline: seq 1..N with no gaps, from QUEUED to SUCCEEDED
        log = re.search(r"demo: event log: (\d+) events, seq 1\.\.(\d+) with no gaps", stdout)
        assert log, stdout
        assert log.group(1) == log.group(2)
        assert "demo: event log: status QUEUED -> RUNNING -> SUCCEEDED" in stdout
        assert "agw invocations follow ID" in stdout
        assert '"files": {"stats.py"' in stdout  # the announced curl carries the files
        # then the approval demo: the same run, its Edit waiting for a person (issue 15)
        waiting = re.search(r"demo: invocation (inv_\w+)  WAITING", stdout)
        assert waiting, stdout
        assert f"demo: approve all: agw invocations approve {waiting.group(1)}" in stdout
        assert re.search(r"demo:   toolu_\w+  Edit  ", stdout)
        # the functions' logs went to stderr, not into the summary
        assert '"level"' not in stdout
        health = httpx.get(api_url + "/health", headers={"x-api-key": key}, timeout=10)
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
        # the printed curl, pasted into a shell, works
        curl = stdout[stdout.index("curl -sS") : stdout.index("\n\n", stdout.index("curl -sS"))]
        if shutil.which("curl"):
            pasted = subprocess.run(
                ["bash", "-c", curl], capture_output=True, text=True, timeout=60, check=False
            )
            assert pasted.returncode == 0, pasted.stderr
            answer = json.loads(pasted.stdout)
            assert answer["status"] == "SUCCEEDED"
            assert answer["agent"] == "backend-engineer-python"
        ports = [port_of(api_url), port_of(info["aws_url"]), port_of(info["model_url"])]
    finally:
        code = proc.interrupt()
    assert code == 0, proc.stderr[-3000:]
    assert "stopped; nothing is left running" in proc.stderr
    assert not dev_file.exists()
    assert_nothing_left(proc, ports)


def test_agw_dev_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    proc = start_agw_dev(
        tmp_path,
        ["--port=0", "--aws-port=0", "--model-port=0", "--no-demo"],
        name="sigterm",
        env={"AGW_DEV_FILE": str(tmp_path / ".agw" / "dev.json")},
    )
    try:
        api_url = proc.wait_ready()
        assert "demo:" not in proc.stdout
        generated = re.search(r"API key +(agw_\S+)", proc.stdout)
        assert generated, proc.stdout
        health = httpx.get(
            api_url + "/health", headers={"x-api-key": generated.group(1)}, timeout=10
        )
        assert health.status_code == 200
        dev_file = tmp_path / ".agw" / "dev.json"
        assert stat.S_IMODE(dev_file.stat().st_mode) == 0o600
        proc.process.send_signal(signal.SIGTERM)
        code = proc.process.wait(timeout=20)
    finally:
        proc.interrupt()
    assert code == 0
    assert not dev_file.exists()
    assert not dev_file.parent.exists()  # .agw/ was created for it, and goes with it
    assert_nothing_left(proc, [port_of(api_url)])


def test_a_taken_port_is_a_clear_error_naming_the_flag(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        for flag in ("--port", "--aws-port", "--model-port"):
            others = [f"{f}=0" for f in ("--port", "--aws-port", "--model-port") if f != flag]
            proc = start_agw_dev(
                tmp_path, [f"{flag}={port}", *others, "--no-demo"], name=flag.strip("-")
            )
            code = proc.process.wait(timeout=30)
            proc.interrupt()
            assert code == 1
            assert f"127.0.0.1:{port}" in proc.stderr
            assert "already in use" in proc.stderr
            assert f"{flag} N" in proc.stderr
            assert "READY" not in proc.stdout
            assert "Traceback" not in proc.stderr


def test_definitions_with_lint_errors_refuse_to_start(tmp_path: Path) -> None:
    bad = tmp_path / "defs"
    bad.mkdir()
    (bad / "broken.md").write_text("---\nname: broken\ndescription: [unclosed\n---\nbody\n")
    proc = start_agw_dev(
        tmp_path,
        ["--port=0", "--aws-port=0", "--model-port=0", "--no-demo", f"--definitions={bad}"],
        name="lint",
    )
    code = proc.process.wait(timeout=60)
    proc.interrupt()
    assert code == 1
    assert "lint errors" in proc.stderr
    assert "broken.md" in proc.stderr
    assert "READY" not in proc.stdout


def test_cli_defaults_match_the_local_stack() -> None:
    from agw import dev_cmd
    from local import dev

    assert (dev_cmd.DEFAULT_API_PORT, dev_cmd.DEFAULT_AWS_PORT, dev_cmd.DEFAULT_MODEL_PORT) == (
        dev.DEFAULT_API_PORT,
        dev.DEFAULT_AWS_PORT,
        dev.DEFAULT_MODEL_PORT,
    )
    assert (dev.DEFAULT_API_PORT, dev.DEFAULT_AWS_PORT, dev.DEFAULT_MODEL_PORT) == (
        3000,
        5050,
        8899,
    )
    assert dev_cmd.DEFAULT_SWEEPER_PERIOD_S == dev.DEFAULT_SWEEPER_PERIOD_S


def test_the_model_is_real_only_with_a_key() -> None:
    from local.dev import DevStack

    assert DevStack(environ={}).offline
    assert DevStack(environ={"ANTHROPIC_API_KEY": "  "}).offline
    assert not DevStack(environ={"ANTHROPIC_API_KEY": "sk-ant-x"}).offline
    assert DevStack(environ={"ANTHROPIC_API_KEY": "sk-ant-x"}, anthropic_api_key="").offline


def test_preflight_refuses_one_port_for_two_servers_before_starting_anything() -> None:
    from local.dev import DevStack, DevStackError

    stack = DevStack(
        template=REPO / "template.yaml",
        definitions=[REPO / "definitions"],
        api_port=47011,
        aws_port=47011,
        model_port=0,
        environ={},
    )
    with pytest.raises(DevStackError, match="--port and --aws-port both ask for port 47011"):
        stack.start()
    assert stack.info is None


def test_api_keys_default_to_one_generated_key_and_must_be_header_safe() -> None:
    from agents.tenants.keys import parse_key
    from local.dev import DevStack, DevStackError

    generated = DevStack(environ={}).api_keys
    assert len(generated) == 1
    assert parse_key(generated[0]) is not None  # a tenant key (KEYS mode)
    assert DevStack(environ={}).api_keys != generated
    assert DevStack(api_keys=["a", "b", "a"], environ={}).api_keys == ["a", "b"]
    with pytest.raises(DevStackError):
        DevStack(api_keys=["has space"], environ={})
