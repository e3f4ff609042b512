"""Handler overhead: CPU time of a warm sync run with a zero-latency model and in-process AWS.

AWS is moto's in-process ``mock_aws`` (tables, queues and buckets from ``template.yaml``);
the model is the fake Messages API in a *separate process* (so its CPU is not ours) at
zero latency. Each request goes through ``handlers.api.handler`` as an API Gateway
proxy event. Per request we take ``time.process_time()`` (every thread of this process:
the handler, the runner's model-call thread, botocore, the SDK) and subtract the CPU moto
spends answering in the calling thread (``BotocoreStubber.__call__`` timed with
``time.thread_time``): what is left is what the function itself burns per request.

A separate profiled pass (cProfile, which sees every thread on Python 3.12+; paused while
moto answers) shows where it goes: top functions by own time (blocking waits left out)
and own time by package. Profiling inflates the absolute numbers; read them as shares.

    python -m bench.handler_overhead [--requests 200] [--profile-requests 50]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import pstats
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.harness import ApiCaller, quiet_project_logs, reset_singletons
from bench.table import Row, median, percentile, render
from local.ready_child import ready_child

ROOT = Path(__file__).resolve().parents[1]
AGENT = "code-reviewer-fast"
BODY = {
    "input": "def add(a, b):\n    return a + b\n",
    "context": {"language": "python"},
    "max_tokens": 512,
}
#: moto's in-process mock answers on these hosts; queue URLs must match them.
MOCK_SQS_ENDPOINT = "https://sqs.us-east-1.amazonaws.com"
#: Builtins that only wait (the profile's wall clock counts them; they burn no CPU).
_WAITS = ("acquire", "wait", "select", "poll", "recv", "recv_into", "sleep", "join", "readinto")


@dataclass
class Series:
    name: str
    total_ms: list[float] = field(default_factory=list)
    moto_ms: list[float] = field(default_factory=list)

    @property
    def own_ms(self) -> list[float]:
        return [t - m for t, m in zip(self.total_ms, self.moto_ms, strict=True)]


@dataclass
class OverheadResult:
    series: list[Series]
    top_functions: list[tuple[str, float]]  # (function, own ms per request)
    by_package: list[tuple[str, float]]  # (package, own ms per request)


# --- the fake model in its own process -------------------------------------------------


def fake_model_process() -> contextlib.AbstractContextManager[str]:
    """The fake Messages API in a process of its own (its CPU is not ours); yields its URL."""
    return ready_child(
        [sys.executable, "-m", "local.fake_anthropic", "--port", "0"],
        what="the fake Messages API",
    )


# --- in-process AWS ---------------------------------------------------------------------


class MotoCpu:
    """CPU moto spends answering botocore requests in the calling thread (thread_time).

    With ``profiler``, profiling is paused while moto answers (its time is not ours).
    """

    def __init__(self, profiler: cProfile.Profile | None = None) -> None:
        self.profiler = profiler
        self.seconds = 0.0
        self._lock = threading.Lock()
        self._original: Any = None

    def __enter__(self) -> MotoCpu:
        from moto.core.botocore_stubber import BotocoreStubber

        original = BotocoreStubber.__call__
        meter = self

        def timed(stubber: Any, *args: Any, **kwargs: Any) -> Any:
            if meter.profiler is not None:
                meter.profiler.disable()
            start = time.thread_time()
            try:
                return original(stubber, *args, **kwargs)
            finally:
                spent = time.thread_time() - start
                if meter.profiler is not None:
                    meter.profiler.enable()
                with meter._lock:
                    meter.seconds += spent

        self._original = original
        BotocoreStubber.__call__ = timed  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *_: object) -> None:
        from moto.core.botocore_stubber import BotocoreStubber

        BotocoreStubber.__call__ = self._original  # type: ignore[method-assign]


def _environment(template: Any, model_url: str) -> dict[str, str]:
    from local.aws_stack import LOCAL_CREDENTIALS
    from local.invoke import OFFLINE_API_KEY

    env = dict(template.function("ApiFunction").environment)
    env.update(LOCAL_CREDENTIALS)
    env.update(
        {
            "AWS_REGION": template.region,
            "AWS_DEFAULT_REGION": template.region,
            "AWS_SAM_LOCAL": "true",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "ANTHROPIC_BASE_URL": model_url,
            "ANTHROPIC_API_KEY": OFFLINE_API_KEY,
        }
    )
    return env


def _create_resources(template: Any) -> None:
    """The template's tables, queues and bucket in moto's in-process backend."""
    import boto3

    from local.aws_resources import create_resources_with

    session = boto3.session.Session(region_name=template.region)
    create_resources_with(
        template, session.client("dynamodb"), session.client("sqs"), session.client("s3")
    )


def _push_definitions(env: dict[str, str]) -> None:
    from agents.config import Settings
    from agents.publish import push_paths

    report, _ = push_paths(
        [str(ROOT / "definitions")],
        env["AGENTS_BUCKET"],
        env.get("AGENTS_PREFIX", "agents/"),
        settings=Settings.from_env(env),
    )
    if not report.ok:
        raise RuntimeError("definitions/ has lint errors")


@contextlib.contextmanager
def in_process_stack(model_url: str) -> Iterator[ApiCaller]:
    from moto import mock_aws

    from local.runtime import patched_environ
    from local.template import Template

    template = Template.load(ROOT / "template.yaml").bind(endpoint_url=MOCK_SQS_ENDPOINT)
    env = _environment(template, model_url)
    # mock_aws answers AWS's own hosts: no endpoint override in the block.
    with patched_environ(env, unset=["AWS_ENDPOINT_URL"]), mock_aws():
        reset_singletons()
        _create_resources(template)
        _push_definitions(env)
        reset_singletons()
        with quiet_project_logs():
            try:
                yield ApiCaller(template)
            finally:
                reset_singletons()


# --- measuring --------------------------------------------------------------------------


def _request(caller: ApiCaller, key: str | None) -> None:
    headers = {"Idempotency-Key": key} if key else {}
    answer = caller("POST", f"/agents/{AGENT}/invocations", BODY, headers)
    if answer.status != 200:
        raise RuntimeError(f"sync run answered {answer.status}: {answer.body}")


def _measure(caller: ApiCaller, name: str, requests: int, keyed: bool) -> Series:
    series = Series(name)
    with MotoCpu() as moto:
        for number in range(requests):
            key = f"overhead-{number}-{time.monotonic_ns()}" if keyed else None
            moto_before = moto.seconds
            start = time.process_time()
            _request(caller, key)
            series.total_ms.append((time.process_time() - start) * 1000)
            series.moto_ms.append((moto.seconds - moto_before) * 1000)
    return series


def _package_of(filename: str) -> str:
    if filename.startswith("~") or filename.startswith("<"):
        return "builtins/C"
    parts = Path(filename).parts
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].removesuffix(".py")
    for top in ("agents", "handlers", "local", "bench"):
        if f"/src/{top}/" in filename or (f"/{top}/" in filename and str(ROOT) in filename):
            return top
    return "stdlib"


def _profile(caller: ApiCaller, requests: int, top: int) -> tuple[list[Any], list[Any]]:
    profiler = cProfile.Profile()
    with MotoCpu(profiler):
        profiler.enable()
        for number in range(requests):
            _request(caller, f"profile-{number}-{time.monotonic_ns()}")
        profiler.disable()
    stats = pstats.Stats(profiler)
    entries: list[tuple[str, float]] = []
    packages: dict[str, float] = defaultdict(float)
    for (filename, line, function), row in stats.stats.items():  # type: ignore[attr-defined]
        own = row[2]
        if filename == "~" and any(w in function for w in _WAITS):
            continue
        package = _package_of(filename)
        if package in {"builtins/C", "stdlib"}:
            # Charge builtins and the standard library to whoever called them.
            for (caller_file, _, _), caller_row in row[4].items():
                charged = _package_of(caller_file)
                if charged == "builtins/C":
                    charged = "stdlib"
                packages[charged] += caller_row[2]
        else:
            packages[package] += own
        where = f"{Path(filename).name}:{line}({function})" if filename != "~" else function
        entries.append((f"{package}: {where}", own))
    entries.sort(key=lambda item: item[1], reverse=True)
    per_request = 1000 / requests
    top_functions = [(name, own * per_request) for name, own in entries[:top]]
    by_package = sorted(
        ((name, own * per_request) for name, own in packages.items()),
        key=lambda item: item[1],
        reverse=True,
    )
    return top_functions, by_package[:top]


def run(requests: int = 200, profile_requests: int = 50, top: int = 8) -> OverheadResult:
    with fake_model_process() as model_url, in_process_stack(model_url) as caller:
        for number in range(10):  # warm: clients, definition cache, runner, idempotency layer
            _request(caller, f"warm-{number}" if number % 2 else None)
        series = [
            _measure(caller, "sync run", requests, keyed=False),
            _measure(caller, "sync run + Idempotency-Key", requests, keyed=True),
        ]
        top_functions, by_package = _profile(caller, profile_requests, top)
    return OverheadResult(series, top_functions, by_package)


def rows(result: OverheadResult) -> list[Row]:
    out: list[Row] = []
    for series in result.series:
        own = series.own_ms
        p50, p95 = median(own), percentile(own, 0.95)
        out.append(
            Row(
                "handler overhead",
                f"{series.name}: CPU/request excl. moto (p50 / p95)",
                f"{p50:.1f} / {p95:.1f} ms (n={len(own)})",
            )
        )
        out.append(
            Row(
                "handler overhead",
                f"{series.name}: CPU/request incl. moto (p50 / p95)",
                f"{median(series.total_ms):.1f} / {percentile(series.total_ms, 0.95):.1f} ms",
            )
        )
    packages = "; ".join(f"{name} {ms:.1f}" for name, ms in result.by_package)
    out.append(
        Row(
            "handler overhead",
            "own time by package, builtins/stdlib charged to the caller (ms/request, profiled)",
            packages,
        )
    )
    for rank, (name, ms) in enumerate(result.top_functions, 1):
        out.append(
            Row("handler overhead", f"top {rank} (own time, profiled)", f"{ms:.2f} ms {name}")
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.handler_overhead", description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--profile-requests", type=int, default=50)
    parser.add_argument("--top", type=int, default=8)
    args = parser.parse_args(argv)
    result = run(args.requests, args.profile_requests, args.top)
    table = rows(result)
    print(render(table, title="handler overhead (warm sync run, zero-latency model)"))
    return 0 if all(r.met is not False for r in table) else 1


if __name__ == "__main__":
    raise SystemExit(main())
