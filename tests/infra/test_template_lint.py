"""cfn-lint and checkov on template.yaml: clean, and every suppression justified and needed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.infra.cfn import TEMPLATE, resources, run_tool, tool


def _checkov(path: Path) -> dict[str, Any]:
    # --skip-download: no policy/guideline download, no network at all.
    proc = run_tool(
        [
            str(tool("checkov", "checkov")),
            "--skip-download",
            "--quiet",
            "--compact",
            "--framework",
            "cloudformation",
            "--output",
            "json",
            "--file",
            str(path),
        ],
        timeout=180,
    )
    assert proc.stdout.strip(), f"checkov printed nothing; stderr:\n{proc.stderr[-3000:]}"
    report = json.loads(proc.stdout)
    if isinstance(report, list):  # one entry per framework
        (report,) = (r for r in report if r.get("check_type") == "cloudformation")
    assert isinstance(report, dict)
    return report


def _failed(report: dict[str, Any]) -> set[tuple[str, str]]:
    results = report.get("results", {})
    return {
        (check["check_id"], check["resource"].rsplit(".", 1)[-1])
        for check in results.get("failed_checks", [])
    }


def _declared_skips() -> dict[tuple[str, str], str]:
    skips: dict[tuple[str, str], str] = {}
    for logical_id, resource in resources().items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            skips[(skip["id"], logical_id)] = skip.get("comment", "")
    return skips


def test_cfn_lint_reports_nothing() -> None:
    proc = run_tool(
        [str(tool("sam", "cfn-lint")), "--format", "parseable", str(TEMPLATE)], timeout=120
    )
    assert not proc.stdout.strip(), (
        f"cfn-lint found problems (fix them, or suppress one in the resource's Metadata "
        f"with a reason):\n{proc.stdout}{proc.stderr}"
    )
    assert proc.returncode == 0, proc.stderr


def test_cfn_lint_suppressions_are_justified() -> None:
    # cfn-lint suppressions live in Metadata.cfn-lint.config.ignore_checks; each needs a
    # sibling `reasons` entry explaining it.
    for logical_id, resource in resources().items():
        config = resource.get("Metadata", {}).get("cfn-lint", {}).get("config", {})
        ignored = config.get("ignore_checks", [])
        reasons = config.get("reasons", {})
        for rule in ignored:
            assert len(str(reasons.get(rule, ""))) >= 20, (
                f"{logical_id} ignores cfn-lint {rule} without a reason"
            )


def test_checkov_has_no_failed_checks() -> None:
    report = _checkov(TEMPLATE)
    summary = report["summary"]
    assert summary["failed"] == 0, json.dumps(report["results"]["failed_checks"], indent=1)[:6000]
    assert summary["passed"] > 20, "checkov evaluated suspiciously few checks"
    assert summary["resource_count"] >= len(resources()) - 5


def test_checkov_skips_are_justified() -> None:
    skips = _declared_skips()
    assert skips, "expected the template to declare its checkov skips"
    for (check_id, logical_id), comment in skips.items():
        assert len(comment) >= 40, f"{logical_id}: checkov skip {check_id} needs a real reason"


def test_checkov_skips_are_all_needed(tmp_path: Path) -> None:
    # Without its skips the template must fail exactly the skipped checks: a skip that
    # no longer matches a failure is dead weight that would hide a future regression.
    text = TEMPLATE.read_text(encoding="utf-8").replace("      checkov:\n", "      unused:\n")
    bare = tmp_path / "template.yaml"
    bare.write_text(text, encoding="utf-8")
    failed = _failed(_checkov(bare))
    declared = set(_declared_skips())
    assert failed == declared, {
        "skipped but passing (remove the skip)": sorted(declared - failed),
        "failing without a skip": sorted(failed - declared),
    }


@pytest.mark.parametrize("logical_id", ["InvocationQueue", "DeadLetterQueue", "AgentsBucket"])
def test_encryption_skips_keep_encryption_on(logical_id: str) -> None:
    # The SSE-related skips are only honest while the resource is encrypted another way.
    props = resources()[logical_id]["Properties"]
    if logical_id == "AgentsBucket":
        (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    else:
        assert props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props
