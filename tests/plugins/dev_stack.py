"""``agw dev`` in a child process on free loopback ports, for end-to-end tests.

``dev_stack`` (session) starts ``agw dev --port 0 --aws-port 0 --model-port 0
--no-demo`` with two API keys (two tenants) and the offline model, waits for
its ``READY <url>`` line, reads the ``--info-file`` (URLs, keys, queue and
bucket names) and yields a :class:`RunningDevStack`. At the end it sends
SIGINT and waits (bounded); SIGKILL only if the process does not stop.

The stack runs in its own process on purpose: moto keeps its state per
process, and the other tests reset the session moto server's state per test
(``aws_endpoint``), which would wipe an in-process stack. Tests talk to it
over HTTP only: httpx to the API, boto3 to its moto, the fake's ``/_fake/*``
control API. ``agw`` runs ``agw ARGS`` in-process against it (tenant A's key);
``tool_demo_folder`` makes the tool demo's files the test's current folder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import httpx
    from mypy_boto3_sqs import SQSClient

REPO = Path(__file__).resolve().parents[2]
AGW = Path(sys.executable).with_name("agw")
KEY_A = "agw_keetenantaaaaaaaa_e2e-tenant-a-key-0123456789-aaaaaaaaaaaaaaaaaaaa"
KEY_B = "agw_keetenantbbbbbbbb_e2e-tenant-b-key-9876543210-bbbbbbbbbbbbbbbbbbbb"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
#: ``agw ARGS`` in-process: (exit status, stdout, stderr).
AgwRun = Callable[..., tuple[int, str, str]]
#: Variables of the test process that must not leak into the child (it sets its own).
_SCRUB_PREFIXES = ("ANTHROPIC_", "AWS_", "AGW_", "POWERTOOLS_")


def child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test process's environment without AWS/model/agw settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB_PREFIXES)}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


@dataclass
class DevProcess:
    """A running ``agw dev`` child: its process, its output files, its READY URL."""

    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path
    api_url: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    _files: list[IO[bytes]] = field(default_factory=list)

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def wait_ready(self, timeout_s: float = START_TIMEOUT_S) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for line in self.stdout.splitlines():
                if line.startswith("READY "):
                    self.api_url = line.split(" ", 1)[1].strip()
                    return self.api_url
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"agw dev exited with {self.process.returncode} before READY:\n"
                    f"{self.stdout[-3000:]}\n{self.stderr[-3000:]}"
                )
            time.sleep(0.05)
        raise TimeoutError(f"agw dev not READY after {timeout_s} s:\n{self.stderr[-3000:]}")

    def interrupt(self, timeout_s: float = STOP_TIMEOUT_S) -> int:
        """SIGINT, then wait; SIGKILL the group (and fail loudly) if it does not stop."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
                raise
        for handle in self._files:
            handle.close()
        return self.process.returncode


def start_agw_dev(
    tmp_dir: Path,
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    name: str = "agw-dev",
) -> DevProcess:
    """Start ``agw dev ARGS`` in its own process group (cwd = the repository).

    Its ``.agw/dev.json`` goes to ``tmp_dir/<name>.dev.json`` (``AGW_DEV_FILE``), never
    the repository's, unless ``env`` names one."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = tmp_dir / f"{name}.out", tmp_dir / f"{name}.err"
    env = {"AGW_DEV_FILE": str(tmp_dir / f"{name}.dev.json"), **(env or {})}
    out, err = out_path.open("wb"), err_path.open("wb")
    process = subprocess.Popen(
        [str(AGW), "dev", *args],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=err,
        env=child_environment(env),
        start_new_session=True,
    )
    return DevProcess(process, out_path, err_path, _files=[out, err])


@dataclass
class RunningDevStack:
    """The session's ``agw dev``: its info file's content and HTTP helpers."""

    proc: DevProcess
    info: dict[str, Any]

    @property
    def api_url(self) -> str:
        return str(self.info["api_url"])

    @property
    def dev_file(self) -> Path:
        """The stack's ``.agw/dev.json`` (in the test's temporary directory)."""
        return self.proc.stdout_path.with_name(self.proc.stdout_path.stem + ".dev.json")

    @property
    def model_url(self) -> str:
        return str(self.info["model_url"])

    @property
    def aws_url(self) -> str:
        return str(self.info["aws_url"])

    @property
    def dlq_url(self) -> str:
        return str(self.info["dlq_url"])

    def tenant(self, key: str) -> str:
        return str(self.info["tenants"][key])

    def client(self, key: str = KEY_A, **options: Any) -> httpx.Client:
        import httpx

        options.setdefault("timeout", 40.0)
        return httpx.Client(base_url=self.api_url, headers={"x-api-key": key}, **options)

    def fake(self, method: str, path: str, payload: Any = None) -> Any:
        import httpx

        response = httpx.request(method, self.model_url + path, json=payload, timeout=10)
        response.raise_for_status()
        return response.json()

    def sqs(self) -> SQSClient:
        import boto3

        return boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name=str(self.info["region"]),
        ).client("sqs", endpoint_url=self.aws_url)

    def agw_env(self, key: str = KEY_A) -> dict[str, str]:
        """The environment for an ``agw`` client subprocess talking to this stack."""
        return child_environment({"AGW_ENDPOINT": self.api_url, "AGW_API_KEY": key})


@pytest.fixture(scope="session")
def dev_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDevStack]:
    tmp = tmp_path_factory.mktemp("dev-stack")
    info_file = tmp / "info.json"
    proc = start_agw_dev(
        tmp,
        [
            "--port=0",
            "--aws-port=0",
            "--model-port=0",
            "--no-demo",
            f"--api-key={KEY_A}",
            f"--api-key={KEY_B}",
            f"--info-file={info_file}",
        ],
    )
    try:
        proc.wait_ready()
        info = json.loads(info_file.read_text())
        yield RunningDevStack(proc, info)
    finally:
        proc.interrupt()


@pytest.fixture
def agw(
    dev_stack: RunningDevStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> AgwRun:
    """Run ``agw ARGS`` in-process against the dev stack as tenant A (``AGW_ENDPOINT``,
    ``AGW_API_KEY``); returns (exit status, stdout, stderr)."""
    from agw.cli import main

    monkeypatch.setenv("AGW_ENDPOINT", dev_stack.api_url)
    monkeypatch.setenv("AGW_API_KEY", KEY_A)

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture
def tool_demo_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The tool demo's files (``local.dev_info.TOOL_DEMO_FILES``) in the test's current folder."""
    from local.dev_info import TOOL_DEMO_FILES

    for name, text in TOOL_DEMO_FILES.items():
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    return tmp_path
