"""Each benchmark's smallest real measurement (a few seconds each) gives rows whose numbers
make sense, and the pure helpers work. No timing goal is asserted: the machine varies."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest

from bench import (
    aws_calls,
    batch_concurrency,
    cold_import,
    event_poll,
    handler_overhead,
    layer_size,
    run_all,
    tool_loop,
)
from bench.harness import CallCounter
from bench.table import Row, median, percentile, render

MODULES = [
    "bench.table",
    "bench.harness",
    "bench.cold_import",
    "bench.aws_calls",
    "bench.handler_overhead",
    "bench.layer_size",
    "bench.run_all",
    "bench.prompt_cache",
    "bench.tool_loop",
    "bench.event_poll",
]


@pytest.mark.parametrize("name", MODULES)
def test_bench_module_imports_and_has_a_main(name: str) -> None:
    module = importlib.import_module(name)
    assert callable(getattr(module, "main", None)) or name in {"bench.table", "bench.harness"}


def test_render_gives_one_markdown_row_per_result() -> None:
    rows = [
        Row("b", "m|1", "v", "<= 1", True),
        Row("b", "m2", "v2", "<= 1", False),
        Row("b", "info", "x"),
    ]
    lines = render(rows, title="t").splitlines()
    assert lines[0] == "## t"
    assert lines[2].startswith("| benchmark")
    assert len(lines) == 3 + 1 + 3  # title, blank, header, rule, rows
    assert "m\\|1" in lines[4]
    assert lines[4].split("|")[-2].strip() == "yes"
    assert "**NO**" in lines[5]
    assert render([]).count("\n") == 1  # header and rule only


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.95) == 95.0
    assert percentile([3.0], 0.95) == 3.0


def test_cold_import_ratios_and_goal_rows() -> None:
    result = cold_import.ColdImportResult()
    for mode in cold_import.MODES:
        for target, seconds in {
            "handlers.api": 0.2,
            "naive": 1.0,
            "handlers.worker": 1.3,
            "anthropic": 1.0,
        }.items():
            result.samples[(mode, target)] = [cold_import.Sample(seconds, 10, [])] * 3
    assert result.ratio("pyc", "handlers.api", "naive") == pytest.approx(0.2)
    goals = {r.metric: r.met for r in cold_import.rows(result) if r.met is not None}
    assert goals["api/naive [pyc]"] is True
    assert goals["worker/anthropic [no-pyc]"] is False  # 1.3 > 1.15


def test_cold_import_prefix_mirrors_absolute_paths(tmp_path: Path) -> None:
    directory = Path("/usr/lib/python3.13")
    assert cold_import.prefixed(tmp_path, directory) == tmp_path / "usr/lib/python3.13"
    env = cold_import.child_env(tmp_path)
    assert env["PYTHONPYCACHEPREFIX"] == str(tmp_path)
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["PYTHONPATH"].split(":")[0] == str(cold_import.SRC)


def test_layer_helpers(tmp_path: Path) -> None:
    wheel = tmp_path / "WHEEL"
    wheel.write_text(
        "Wheel-Version: 1.0\nTag: cp313-cp313-manylinux_2_17_aarch64\n"
        "Tag: cp313-cp313-manylinux2014_aarch64\n"
    )
    assert [layer_size.platform_of(t) for t in layer_size.wheel_tags(wheel)] == [
        "manylinux_2_17_aarch64",
        "manylinux2014_aarch64",
    ]
    assert layer_size.platform_of("py3-none-any") == "any"
    layer = tmp_path / "layer"
    (layer / "python" / "pkg").mkdir(parents=True)
    (layer / "python" / "pkg" / "a.py").write_text("x = 1\n" * 100)
    (layer / "python" / "pkg" / "a.cpython-313.pyc").write_bytes(b"\0" * 50)
    report = layer_size.measure(layer)
    assert (report.files, report.py_files, report.pyc_files) == (2, 1, 1)
    assert report.zipped_bytes > 0
    assert report.largest[0][0] == "pkg"
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("x\n")
    assert layer_size.is_fresh(layer, (requirements,)) is (
        requirements.stat().st_mtime <= (layer / "python").stat().st_mtime
    )
    assert not layer_size.is_fresh(tmp_path / "missing", (requirements,))


def test_call_counter_counts_operations_and_s3_bodies() -> None:
    counter = CallCounter()

    class Model:
        name = "PutItem"

        class service_model:
            service_name = "dynamodb"

    class Response:
        status_code = 200

    counter.record_call(Model())
    counter.record_call(Model())
    counter.record_get_object(Response())
    assert counter.calls == ["dynamodb.PutItem", "dynamodb.PutItem"]
    assert counter.s3_body_downloads == 1
    assert counter.summary() == "dynamodb.PutItem x2"


def test_aws_calls_goal_row() -> None:
    steps: list[Any] = [
        aws_calls.Step("sync run + Idempotency-Key (warm)", 200, ["dynamodb.PutItem"] * 6),
        aws_calls.Step("GET /invocations/{id}", 200, ["dynamodb.GetItem"]),
    ]
    rows = aws_calls.rows(steps)
    assert rows[0].met is False  # 6 > 5
    assert rows[1].met is None


def test_run_all_report_names_the_machine_and_misses() -> None:
    text = run_all.report(
        [Row("x", "good", "1", "<= 1", True), Row("x", "bad", "2", "<= 1", False)],
        {"x": 1.0},
    )
    assert "Machine:" in text
    assert "Python" in text
    assert "Goals met: 1 of 2; missed: bad" in text


def _numbers(text: str) -> list[float]:
    return [float(n) for n in re.findall(r"\d+(?:\.\d+)?", text)]


@pytest.mark.slow
def test_cold_import_measures_fresh_interpreters() -> None:
    stdlib = {"json": "import json", "email": "import email.message"}
    result = cold_import.run(samples=1, targets=stdlib)
    assert result.compiled_modules > 0
    for mode in cold_import.MODES:
        for target in stdlib:
            assert result.median_s(mode, target) > 0
            assert result.modules(mode, target) > 0
        # email imports more than json does, in the same interpreter setup
        assert result.modules(mode, "email") > result.modules(mode, "json")
    medians = [r for r in cold_import.rows(result) if r.metric.endswith("median")]
    assert len(medians) == len(stdlib) * len(cold_import.MODES)
    for row in medians:
        milliseconds, modules = _numbers(row.value)[:2]
        assert milliseconds >= 0
        assert modules > 0


@pytest.mark.slow
@pytest.mark.integration
def test_aws_calls_counts_the_calls_of_every_step() -> None:
    steps = aws_calls.run()
    assert steps
    by_name = {step.name: step for step in steps}
    for step in steps:
        assert step.count == len(step.calls) > 0, step
        assert step.status in {200, 202, "worker: ok"}, step
        assert 0 <= step.s3_body_downloads <= step.calls.count("s3.GetObject")
    warm = by_name["sync run + Idempotency-Key (warm)"]
    assert all(call.startswith("dynamodb.") for call in warm.calls)
    assert by_name["GET /invocations/{id}"].calls == ["dynamodb.GetItem"]
    rows = aws_calls.rows(steps)
    assert len(rows) == len(steps)
    for row, step in zip(rows, steps, strict=True):
        assert _numbers(row.value)[0] == step.count
    assert [r.met for r in rows if r.goal] == [warm.count <= aws_calls.MAX_SYNC_CALLS]


@pytest.mark.slow
@pytest.mark.integration
def test_handler_overhead_measures_positive_cpu_per_request() -> None:
    result = handler_overhead.run(requests=3, profile_requests=2, top=2)
    assert [len(s.total_ms) for s in result.series] == [3] * len(result.series)
    for series in result.series:
        for total, moto in zip(series.total_ms, series.moto_ms, strict=True):
            assert 0 <= moto <= total
            assert total > 0
        assert all(ms >= 0 for ms in series.own_ms)
    assert result.top_functions
    assert all(seconds >= 0 for _, seconds in result.by_package)
    rows = handler_overhead.rows(result)
    assert rows
    assert all(_numbers(row.value) for row in rows)


@pytest.mark.slow
@pytest.mark.integration
def test_batch_concurrency_runs_a_batch_in_parallel() -> None:
    latency = 0.3
    [measurement] = batch_concurrency.run(latencies=(latency,), repeats=1)
    assert measurement.failures == 0
    assert measurement.model_calls == batch_concurrency.BATCH
    sequential = batch_concurrency.BATCH * latency
    assert latency <= measurement.wall < sequential  # at least two records overlapped
    assert 0 < measurement.ratio < 1
    [row] = batch_concurrency.rows([measurement])
    assert _numbers(row.value)[0] == pytest.approx(measurement.ratio, abs=1e-3)


def test_layer_rows_report_the_measured_layer(tmp_path: Path) -> None:
    layer = tmp_path / "layer"
    (layer / "python" / "pkg").mkdir(parents=True)
    (layer / "python" / "pkg" / "a.py").write_text("x = 1\n" * 1000)
    (layer / "python" / "pkg" / "a.cpython-313.pyc").write_bytes(b"\0" * 500)
    report = layer_size.measure(layer)
    assert 0 < report.zipped_bytes < report.unzipped_bytes
    size, bytecode = layer_size.rows(report)[0], layer_size.rows(report)[2]
    assert size.met is True
    assert bytecode.met is True
    assert _numbers(bytecode.value)[:2] == [1, 1]


def test_tool_loop_script_reads_before_it_edits_and_ends_with_the_answer() -> None:
    for turns in (3, 4, 10):
        responses = tool_loop.script(turns)
        assert len(responses) == turns
        names = [r["content"][0].get("name") for r in responses[:-1]]
        assert names[-1] == "Edit"
        assert "Read" in names[: names.index("Edit")]
        assert responses[-1]["stop_reason"] == "end_turn"
    with pytest.raises(ValueError):
        tool_loop.script(2)


@pytest.mark.slow
@pytest.mark.integration
def test_tool_loop_measures_cpu_calls_and_cost_per_turn() -> None:
    result = tool_loop.run(runs=2, turns=4)
    assert [run.turns for run in result.runs] == [4, 4]
    for run in result.runs:
        assert 0 <= run.moto_ms <= run.cpu_ms
        assert run.own_ms_per_turn > 0
        assert run.aws_calls  # the record is written at least once
        assert run.usage["input_tokens"] > 0
    cached, uncached, ratio = result.cost_ratio()
    assert 0 < cached < uncached  # turns 2..4 read the cached prefix
    assert 0 < ratio < 1
    rows = tool_loop.rows(result)
    assert [row.met is not None for row in rows] == [True, True, True, True]
    per_turn = median([run.aws_calls_per_turn for run in result.runs])
    assert _numbers(rows[1].value)[0] == pytest.approx(per_turn, abs=0.01)
    # without EVENTS_TABLE in the bench's environment the log row would read 0
    assert _numbers(rows[2].value)[0] == result.runs[0].event_log_calls > 0


@pytest.mark.slow
@pytest.mark.integration
def test_event_poll_measures_how_soon_a_waiting_long_poll_answers() -> None:
    result = event_poll.run(runs=1, turns=3, latency_s=0.1)
    assert result.gapless
    assert result.events >= 3 * 3  # every turn: turn.started, tool events, turn.finished
    assert result.latencies_s, "no poll was waiting when a turn's events were written"
    assert all(0 <= latency < 20 for latency in result.latencies_s)
    (row,) = event_poll.rows(result)
    assert "p50 / max" in row.metric
    assert "gapless" in row.value
