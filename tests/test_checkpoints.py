"""The checkpoint store's S3 layout on moto: one turn object per turn, inline blobs, blobs of
their own when large, the checks on every read, version-1 manifests and the mid-upload point."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import pytest

from agents import aws
from agents.checkpoints import CheckpointState, CheckpointStore, blobs
from agents.checkpoints.state import blob_hash, canonical_json, turn_object_name
from agents.workspace import Workspace
from agents.workspace.limits import WorkspaceLimits
from bench.harness import CallCounter
from tests.plugins.stack import InvocationStack

pytestmark = pytest.mark.integration

INVOCATION = "inv_ckpt_layout"


@pytest.fixture
def s3_calls(invocation_tables: InvocationStack) -> CallCounter:
    """The S3 operations made through the container's client while the test runs."""
    counter = CallCounter()
    counter.attach(aws.client("s3"))
    return counter


def _store(stack: InvocationStack) -> CheckpointStore:
    return CheckpointStore(bucket=stack.bucket, prefix="payloads/", invocation_id=INVOCATION)


def _message(role: str, text: str) -> dict[str, Any]:
    return {"role": role, "content": [{"type": "text", "text": text}]}


def _state(turn: int) -> CheckpointState:
    """Turn ``turn`` of a run: a user message, then an answer and a result per turn."""
    messages = [_message("user", "go")]
    for n in range(1, turn + 1):
        messages += [_message("assistant", f"answer {n}"), _message("user", f"result {n}")]
    return CheckpointState(
        turn=turn,
        messages=messages,
        transcript=[{"turn": n, "text": f"answer {n}"} for n in range(1, turn + 1)],
    )


def _keys(stack: InvocationStack) -> list[str]:
    listed = aws.client("s3").list_objects_v2(
        Bucket=stack.bucket, Prefix=f"payloads/{INVOCATION}/checkpoint/"
    )
    return [item["Key"] for item in listed.get("Contents", [])]


def _put_turn_object(stack: InvocationStack, document: dict[str, Any], turn: int) -> str:
    """A turn object written by hand, named by its bytes as the store names them."""
    body = json.dumps(document).encode()
    key = f"payloads/{INVOCATION}/checkpoint/" + turn_object_name(turn, open_turn=False, body=body)
    aws.client("s3").put_object(Bucket=stack.bucket, Key=key, Body=body)
    return key


def test_each_turn_is_one_put_and_a_resume_reads_each_turn_object_once(
    invocation_tables: InvocationStack, s3_calls: CallCounter
) -> None:
    store = _store(invocation_tables)
    refs = [store.save(_state(turn), None) for turn in range(1, 6)]
    assert s3_calls.calls == ["s3.PutObject"] * 5
    document = json.loads(
        aws.client("s3").get_object(Bucket=invocation_tables.bucket, Key=refs[-1])["Body"].read()
    )
    assert len(document["blobs"]) == 3  # turn 5's answer, result and transcript turn
    assert sorted(document["held_by"]) == sorted(ref.rsplit("/", 1)[1] for ref in refs[:-1])
    s3_calls.calls.clear()
    loaded = _store(invocation_tables).load(refs[-1])
    assert loaded.state == _state(5)
    assert (
        s3_calls.calls == ["s3.GetObject"] * 5
    )  # the newest turn object and the four it refers to


def test_large_blobs_are_objects_of_their_own_and_come_back(
    invocation_tables: InvocationStack, s3_calls: CallCounter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blobs, "MAX_INLINE_BLOB_BYTES", 100)
    monkeypatch.setattr(blobs, "MAX_INLINE_FILE_BYTES", 10)
    files = {"a.py": "x = 0\n", "gone.txt": "bye\n"}
    workspace = Workspace.from_text_files(files, WorkspaceLimits())
    workspace.write_bytes("a.py", b"x = 1\n" * 10)  # 60 bytes: over the file threshold
    workspace.write_bytes("small.txt", b"tiny\n")
    workspace.delete("gone.txt")
    state = _state(1)
    state.messages.append(_message("assistant", "long " * 50))  # over the blob threshold
    store = _store(invocation_tables)
    ref = store.save(state, workspace)
    assert s3_calls.calls == ["s3.PutObject"] * 3  # a.py, the long message, then the turn object
    assert len(_keys(invocation_tables)) == 3
    s3_calls.calls.clear()
    store.save(state, workspace)  # nothing new: just a turn object referring to the first
    assert s3_calls.calls == ["s3.PutObject"]
    loaded = _store(invocation_tables).load(ref)
    assert loaded.state == state
    assert loaded.files == {"a.py": b"x = 1\n" * 10, "small.txt": b"tiny\n"}
    assert loaded.deleted == ["gone.txt"]


def test_json_values_come_back_exactly(invocation_tables: InvocationStack) -> None:
    state = _state(1)
    tricky = {"f": [0.1, 1e16, -2.5e-300, 12345678901234567890], "s": 'ü "q" \\ \n\u2028\U0001f600'}
    state.messages.append({"role": "user", "content": [tricky]})
    store = _store(invocation_tables)
    assert _store(invocation_tables).load(store.save(state, None)).state == state


def test_a_changed_inline_blob_or_a_foreign_turn_object_is_refused(
    invocation_tables: InvocationStack,
) -> None:
    store = _store(invocation_tables)
    ref = store.save(_state(1), None)
    body = aws.client("s3").get_object(Bucket=invocation_tables.bucket, Key=ref)["Body"].read()
    # The same name over other bytes: the name's hash no longer matches.
    aws.client("s3").put_object(Bucket=invocation_tables.bucket, Key=ref, Body=body + b" ")
    with pytest.raises(ValueError, match="does not match its hash"):
        _store(invocation_tables).load(ref)
    document = json.loads(body)
    digest = next(iter(document["blobs"]))
    document["blobs"][digest] = _message("user", "forged")
    with pytest.raises(ValueError, match=f"blob {digest} in .* does not match its hash"):
        _store(invocation_tables).load(_put_turn_object(invocation_tables, document, 1))
    forged_file = dict(document, blobs={}, messages=[], transcript=[])
    forged_file["file_blobs"] = {blob_hash(b"a"): base64.b64encode(b"b").decode()}
    with pytest.raises(ValueError, match="does not match its hash"):
        _store(invocation_tables).load(_put_turn_object(invocation_tables, forged_file, 1))
    other = dict(json.loads(body), invocation_id="inv_someone_else")
    with pytest.raises(ValueError, match="another invocation"):
        _store(invocation_tables).load(_put_turn_object(invocation_tables, other, 1))
    for held_by in ({"../turn-00001.json": [digest]}, {"turn-00001.json": ["nothex"]}):
        bad = dict(json.loads(body), held_by=held_by)
        with pytest.raises(ValueError, match=r"turn object|sha256"):
            _store(invocation_tables).load(_put_turn_object(invocation_tables, bad, 1))
    with pytest.raises(ValueError, match="format version 3"):
        _store(invocation_tables).load(
            _put_turn_object(invocation_tables, dict(json.loads(body), version=3), 1)
        )
    with pytest.raises(ValueError, match="not one of invocation"):
        _store(invocation_tables).load(f"payloads/{INVOCATION}/checkpoint/blobs/{digest}")


def test_a_version_1_checkpoint_still_loads_and_the_next_turn_refers_to_its_blobs(
    invocation_tables: InvocationStack, s3_calls: CallCounter
) -> None:
    s3 = aws.client("s3")
    state = _state(2)
    base = f"payloads/{INVOCATION}/checkpoint/"

    def blob(value: Any) -> str:
        data = canonical_json(value)
        s3.put_object(
            Bucket=invocation_tables.bucket, Key=f"{base}blobs/{blob_hash(data)}", Body=data
        )
        return blob_hash(data)

    manifest = {
        "version": 1,
        "invocation_id": INVOCATION,
        "turn": 2,
        "messages": [blob(m) for m in state.messages],
        "transcript": [blob(t) for t in state.transcript],
        "files": {},
        "deleted": [],
        "state": state.model_dump(mode="json", exclude={"messages", "transcript"}),
    }
    s3.put_object(
        Bucket=invocation_tables.bucket,
        Key=f"{base}turn-00002.json",
        Body=json.dumps(manifest).encode(),
    )
    store = _store(invocation_tables)
    assert store.load(f"{base}turn-00002.json").state == state
    s3_calls.calls.clear()
    ref = store.save(_state(3), None)
    assert s3_calls.calls == ["s3.PutObject"]
    assert _store(invocation_tables).load(ref).state == _state(3)


def test_mid_upload_kills_after_the_own_blobs_and_before_the_turn_object(
    invocation_tables: InvocationStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Killed(Exception):
        pass

    def kill(pid: int, signal: int) -> None:
        raise Killed

    monkeypatch.setattr(os, "kill", kill)  # crash_points kills through os.kill
    monkeypatch.setattr(blobs, "MAX_INLINE_FILE_BYTES", 1)
    monkeypatch.setenv("AGW_CRASH_AT", "mid-upload@2")
    workspace = Workspace.from_text_files({"a.py": "x = 0\n"}, WorkspaceLimits())
    store = _store(invocation_tables)
    first = store.save(_state(1), workspace)
    workspace.write_bytes("a.py", b"x = 2\n")
    with pytest.raises(Killed):
        store.save(_state(2), workspace)
    changed = f"payloads/{INVOCATION}/checkpoint/blobs/" + blob_hash(b"x = 2\n")
    assert sorted(_keys(invocation_tables)) == sorted([first, changed])
    assert _store(invocation_tables).load(first).state == _state(1)
