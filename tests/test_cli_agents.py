"""``agw agents lint|push`` (push against moto server over HTTP)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from agents import aws
from agw.cli import command_modules, main
from tests.plugins.agents import DEFINITIONS_DIR, FIXTURE_DEFINITIONS
from tests.plugins.children import python_output

GOOD = "---\nname: {name}\ndescription: d\nmodel: haiku\nversion: {version}\n---\n# Body\n"


def _write(folder: Path, filename: str, name: str, version: str = "1.0.0") -> Path:
    path = folder / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(GOOD.format(name=name, version=version))
    return path


def test_lint_flagship_and_corpus_exit_zero(capsys: pytest.CaptureFixture[str]) -> None:
    # The acceptance command, on the fixture copies of ../shared/agents and ../shared/corpus.
    corpus = [p for p in FIXTURE_DEFINITIONS.glob("*.md") if p.name != "backend-engineer-python.md"]
    assert len(corpus) == 8
    folder = FIXTURE_DEFINITIONS
    code = main(["agents", "lint", str(folder / "backend-engineer-python.md"), str(folder)])
    out = capsys.readouterr().out
    assert code == 0, out
    # Tool warnings (Bash with CODE_EXECUTION off...) are tests/tools/test_plan.py's subject.
    out = "\n".join(line for line in out.splitlines() if ": warning: tools: " not in line)
    volt = str(folder / "voltagent-gdpr-ccpa-compliance.md")
    assert f"{volt}:3: warning: invalid YAML: the value of 'description'" in out
    assert ": error:" not in out
    # A dotted name and both required_when shapes load; only the condition the
    # parser does not understand is a warning, and the warning says what follows.
    assert "powershell-5.1-expert.md" not in out
    devops = str(folder / "ring-devops-engineer.md")
    (cost,) = [line for line in out.splitlines() if line.startswith(devops)]
    assert cost.startswith(f"{devops}:44: warning: section 'Cost Impact': required_when")
    assert "treated as optional" in cost
    # The .md.txt file is not picked up from the folder (only *.md are).
    assert "seed-flattened" not in out


def test_lint_flattened_exits_one(capsys: pytest.CaptureFixture[str]) -> None:
    path = FIXTURE_DEFINITIONS / "seed-flattened.md.txt"
    assert main(["agents", "lint", str(path)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"{path}:1: error: the line breaks are missing")


def test_lint_shipped_definitions_are_clean(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["agents", "lint", str(DEFINITIONS_DIR)]) == 0
    assert capsys.readouterr().out == ""


def test_lint_json_report(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "agents",
            "lint",
            "--json",
            str(FIXTURE_DEFINITIONS / "wshobson-team-lead.md"),
            str(FIXTURE_DEFINITIONS / "seed-flattened.md.txt"),
        ]
    )
    assert code == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert report["errors"] == 1
    by_name = {Path(f["path"]).name: f for f in report["files"]}
    lead = by_name["wshobson-team-lead.md"]
    assert lead["name"] == "team-lead"
    assert lead["model"] == "fable"
    assert lead["resolved_model"].startswith("claude-fable-")
    flat = by_name["seed-flattened.md.txt"]
    assert flat["ok"] is False
    assert flat["findings"][0]["severity"] == "error"
    assert flat["findings"][0]["line"] == 1
    assert "line breaks" in flat["findings"][0]["message"]


def test_lint_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(tmp_path, "a.md", "a")
    _write(tmp_path / "sub", "other-file.md", "b")  # file name differs: warning
    (tmp_path / "sub" / "c.md").write_text(
        "---\nname: c\ndescription: d\nmodel: wizard\n---\nbody\n"
    )
    (tmp_path / "sub" / "d.md").write_text(
        "---\nname: d\ndescription: x\noutput_schema:\n  required_sections:\n"
        "    - name: Bad\n      pattern: '(unclosed'\n---\nbody\n"
    )
    (tmp_path / "ignored.txt").write_text("not markdown")
    code = main(["agents", "lint", str(tmp_path)])
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert any(
        line.startswith(f"{tmp_path / 'sub' / 'c.md'}:4: warning: model: unknown model alias")
        for line in out
    )
    assert any(
        line.startswith(f"{tmp_path / 'sub' / 'd.md'}:7: error: invalid 'output_schema")
        and "'Bad'" in line
        for line in out
    )
    assert any(
        line.startswith(f"{tmp_path / 'sub' / 'other-file.md'}:2: warning: the file name")
        for line in out
    )
    assert not any("ignored.txt" in line for line in out)


def test_lint_duplicates_warn_and_push_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], aws_endpoint: str
) -> None:
    _write(tmp_path, "one.md", "same")
    _write(tmp_path, "two.md", "same")
    assert main(["agents", "lint", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "warning: duplicate agent name 'same'" in out
    aws.client("s3").create_bucket(Bucket="dup-bucket")
    assert main(["agents", "push", str(tmp_path), "--bucket", "dup-bucket"]) == 1
    captured = capsys.readouterr()
    assert "error: duplicate agent name 'same'" in captured.out
    assert "nothing uploaded" in captured.err
    assert aws.client("s3").list_objects_v2(Bucket="dup-bucket").get("KeyCount", 0) == 0


def test_lint_missing_path(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["agents", "lint", str(tmp_path / "nope")]) == 1
    assert "error: no such file or folder" in capsys.readouterr().out


def test_usage_errors_return_two(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["agents"]) == 2
    assert main(["agents", "lint"]) == 2
    assert main(["nonsense"]) == 2
    assert main(["--help"]) == 0
    assert "agents" in capsys.readouterr().out


def test_push_uploads_by_frontmatter_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], aws_endpoint: str
) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="push-bucket")
    shutil.copy(DEFINITIONS_DIR / "code-reviewer-fast.md", tmp_path / "local-name.md")
    _write(tmp_path, "ring.md", "ring:helper", "2.1.0")
    code = main(["agents", "push", str(tmp_path), "--bucket", "push-bucket", "--prefix", "p/"])
    out = capsys.readouterr().out
    assert code == 0, out
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="push-bucket")["Contents"])
    assert keys == ["p/code-reviewer-fast.md", "p/ring:helper.md"]
    head = s3.head_object(Bucket="push-bucket", Key="p/code-reviewer-fast.md")
    assert head["ContentType"].startswith("text/markdown")
    body = s3.get_object(Bucket="push-bucket", Key="p/code-reviewer-fast.md")["Body"].read()
    assert body == (DEFINITIONS_DIR / "code-reviewer-fast.md").read_bytes()
    lines = out.splitlines()
    etag = head["ETag"].strip('"')
    assert any(line.split() == ["code-reviewer-fast", "1.0.0", etag] for line in lines), out
    assert any(line.split()[:2] == ["ring:helper", "2.1.0"] for line in lines), out
    # Pushing again leaves unchanged objects alone.
    assert main(["agents", "push", str(tmp_path), "--bucket", "push-bucket", "--prefix", "p/"]) == 0
    assert capsys.readouterr().out.count("(unchanged)") == 2


def test_push_json_and_versions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], aws_endpoint: str
) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="versioned")
    s3.put_bucket_versioning(Bucket="versioned", VersioningConfiguration={"Status": "Enabled"})
    _write(tmp_path, "a.md", "a", "1.0.0")
    assert main(["agents", "push", "--json", str(tmp_path), "--bucket", "versioned"]) == 0
    first = json.loads(capsys.readouterr().out)["pushed"][0]
    _write(tmp_path, "a.md", "a", "2.0.0")
    assert main(["agents", "push", "--json", str(tmp_path), "--bucket", "versioned"]) == 0
    second = json.loads(capsys.readouterr().out)["pushed"][0]
    assert first["key"] == second["key"] == "agents/a.md"
    assert first["version_id"]
    assert second["version_id"]
    assert first["version_id"] != second["version_id"]
    assert second["uploaded"] is True


def test_push_refuses_on_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], aws_endpoint: str
) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="strict")
    _write(tmp_path, "good.md", "good")
    shutil.copy(FIXTURE_DEFINITIONS / "seed-flattened.md.txt", tmp_path / "flat.md")
    assert main(["agents", "push", str(tmp_path), "--bucket", "strict"]) == 1
    assert "line breaks are missing" in capsys.readouterr().out
    assert s3.list_objects_v2(Bucket="strict").get("KeyCount", 0) == 0


def test_push_to_missing_bucket_is_a_clean_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], aws_endpoint: str
) -> None:
    _write(tmp_path, "a.md", "a")
    assert main(["agents", "push", str(tmp_path), "--bucket", "does-not-exist"]) == 1
    err = capsys.readouterr().err
    assert "agw: error:" in err
    assert "Traceback" not in err


def test_nouns_are_discovered() -> None:
    assert "agw.agents_cmd" in command_modules()


def test_console_script_does_not_import_boto3_for_lint() -> None:
    code = (
        "import sys; from agw.cli import main;"
        f"rc = main(['agents', 'lint', {str(DEFINITIONS_DIR)!r}]);"
        "print(rc, 'boto3' in sys.modules, 'anthropic' in sys.modules)"
    )
    assert python_output(["-c", code], timeout=60).split() == ["0", "False", "False"]
