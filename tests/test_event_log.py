"""The event log on moto server over HTTP: gapless numbering from 1 (also with several
concurrent writers and stale hints), reads after a seq, the long-poll, and event drafts that
stay small and never carry file contents."""

from __future__ import annotations

import threading
import time

import pytest

from agents import aws
from agents.events import EventDraft, EventLog, EventType, emit
from agents.events.drafts import TEXT_CHUNK_BYTES, text_chunks, tool_target, turn_drafts
from agents.runner import TurnRecord
from agents.types import Usage

pytestmark = pytest.mark.integration


def _draft(n: int) -> EventDraft:
    return EventDraft(type=EventType.STATUS, data={"n": n})


def _log(table: str) -> EventLog:
    return EventLog(table, retention_days=1, dynamodb=aws.client("dynamodb"))


def test_appends_number_events_from_one_with_no_gaps(event_table: str) -> None:
    log = _log(event_table)
    assert log.append("inv_a", [_draft(1)], new_log=True) == 1
    assert log.append("inv_a", [_draft(2), _draft(3), _draft(4)]) == 4
    other = _log(event_table)  # no hint: reads the tail first
    assert other.append("inv_a", [_draft(5)]) == 5
    events = log.read("inv_a")
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert [e.data["n"] for e in events] == [1, 2, 3, 4, 5]
    assert [e.seq for e in log.read("inv_a", after=3, limit=1)] == [4]
    assert log.read("inv_other") == []
    # a stale hint (the first log thinks the tail is 4) loses the race once, then continues
    assert log.append("inv_a", [_draft(6), _draft(7)]) == 7
    assert [e.seq for e in other.read("inv_a")] == list(range(1, 8))


def test_concurrent_appenders_never_leave_gaps_or_duplicates(event_table: str) -> None:
    writers, rounds = 6, 6
    shared = _log(event_table)
    errors: list[BaseException] = []
    start = threading.Barrier(writers)

    def write(w: int) -> None:
        log = shared if w % 2 else _log(event_table)  # shared hints and private ones
        try:
            start.wait()
            for r in range(rounds):
                size = 1 + (w + r) % 3
                drafts = [
                    EventDraft(type=EventType.TEXT, data={"w": w, "r": r, "i": i})
                    for i in range(size)
                ]
                log.append("inv_busy", drafts)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    expected = sum(1 + (w + r) % 3 for w in range(writers) for r in range(rounds))
    events = shared.read("inv_busy", limit=500)
    assert [e.seq for e in events] == list(range(1, expected + 1))
    # every append is all or nothing and contiguous: its events are consecutive, in order
    by_write: dict[tuple[int, int], list[int]] = {}
    for event in events:
        by_write.setdefault((event.data["w"], event.data["r"]), []).append(event.seq)
    assert len(by_write) == writers * rounds
    for seqs in by_write.values():
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


def test_a_long_poll_answers_when_events_arrive(event_table: str) -> None:
    log = _log(event_table)
    log.append("inv_w", [_draft(1)], new_log=True)
    written_at: list[float] = []

    def later() -> None:
        time.sleep(0.4)
        _log(event_table).append("inv_w", [_draft(2)])
        written_at.append(time.monotonic())

    thread = threading.Thread(target=later)
    thread.start()
    started = time.monotonic()
    events = log.wait("inv_w", after=1, wait_s=5)
    answered = time.monotonic()
    thread.join(timeout=5)
    assert [e.seq for e in events] == [2]
    assert written_at  # the wait answered after the write, and long before its 5 s ran out
    assert answered - started < 4
    # nothing new: the wait ends empty after its time
    started = time.monotonic()
    assert log.wait("inv_w", after=2, wait_s=0.3) == []
    assert 0.25 < time.monotonic() - started < 2


def test_a_failed_event_write_never_raises(
    aws_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENTS_TABLE", "no-such-table")
    assert emit("inv_x", [_draft(1)]) is None
    monkeypatch.delenv("EVENTS_TABLE")
    from agents import container

    container.reset()
    assert emit("inv_x", [_draft(1)]) is None  # not configured: nothing written


def test_text_is_chunked_by_bytes_and_tool_calls_are_summarised() -> None:
    text = "é" * 700 + "x" * 900  # 1400 + 900 bytes
    chunks = text_chunks(text)
    assert "".join(chunks) == text
    assert all(len(chunk.encode()) <= TEXT_CHUNK_BYTES for chunk in chunks)
    assert len(chunks) == 3
    secret_body = "API_KEY=sk-live-123\n" * 50
    record = TurnRecord(
        turn=2,
        assistant=[{"type": "text", "text": "Fixing it."}],
        tool_calls=[
            {
                "id": "toolu_1",
                "name": "Write",
                "input": {"file_path": "src/app.py", "content": secret_body},
                "result": "written",
                "is_error": False,
            },
            {
                "id": "toolu_2",
                "name": "Read",
                "input": {"file_path": "../../etc/passwd"},
                "result": "outside the workspace",
                "is_error": True,
            },
        ],
        usage=Usage(input_tokens=10, output_tokens=5),
        stop_reason="tool_use",
    )
    drafts = turn_drafts(record, cost_usd=0.01, usage_total=Usage(input_tokens=30), cost_total=0.03)
    types = [d.type.value for d in drafts]
    assert types == [
        "text",
        "tool.called",
        "tool.result",
        "tool.called",
        "tool.result",
        "turn.finished",
    ]
    assert "sk-live" not in str([d.data for d in drafts])
    assert drafts[1].data["target"] == "src/app.py"
    assert drafts[1].data["input_keys"] == ["content", "file_path"]
    assert [drafts[2].data["ok"], drafts[4].data["ok"]] == [True, False]
    assert drafts[-1].data["usage"]["input_tokens"] == 30
    assert drafts[-1].data["cost_usd"] == 0.03
    assert tool_target({"pattern": "a\nb" + "c" * 500}) is not None
    assert len(tool_target({"pattern": "c" * 500}) or "") == 160


def test_an_approved_turn_is_not_counted_twice(event_table: str) -> None:
    from agents.events import RunEventRecorder, get_event_log

    # The record's totals (120 tokens) already hold turn 2's call, made before the pause.
    recorder = RunEventRecorder("inv_open", usage=Usage(input_tokens=120), counted_turn=2)
    recorder.after_turn(TurnRecord(turn=2, assistant=[], usage=Usage(input_tokens=20)), 0.0)
    recorder.before_turn(3)
    recorder.after_turn(TurnRecord(turn=3, assistant=[], usage=Usage(input_tokens=30)), 0.0)
    recorder.flush()
    log = get_event_log()
    assert log is not None
    finished = [e for e in log.read("inv_open") if e.type.value == "turn.finished"]
    assert [e.data["usage"]["input_tokens"] for e in finished] == [120, 150]


def test_the_recorder_writes_once_per_turn_and_carries_totals_over(event_table: str) -> None:
    from agents.events import RunEventRecorder, get_event_log

    calls: list[str] = []
    recorder = RunEventRecorder("inv_rec", usage=Usage(input_tokens=100), cost_usd=0.5)
    before, after = recorder.compose(lambda turn: calls.append(f"b{turn}"), None)
    before(1)
    after(TurnRecord(turn=1, assistant=[], usage=Usage(input_tokens=10)), 0.01)
    before(2)
    after(TurnRecord(turn=2, assistant=[{"type": "text", "text": "done"}]), 0.02)
    recorder.flush()
    recorder.flush()  # nothing held: no write
    log = get_event_log()
    assert log is not None
    events = log.read("inv_rec")
    assert [e.type.value for e in events] == [
        "turn.started",
        "turn.finished",
        "turn.started",
        "text",
        "turn.finished",
    ]
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert len({e.at for e in events[1:3]}) == 1  # turn 1's results and turn 2's start: one write
    assert events[-1].data["usage"]["input_tokens"] == 110
    assert events[-1].data["cost_usd"] == pytest.approx(0.53)
    assert calls == ["b1", "b2"]
