"""``agw agents lint|push``: check and publish agent definitions;
``agw agents list|show``: the deployed registry, through the API."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from agents.definition_lint import LintReport
from agw.client_cli import add_api_command, add_noun, add_verb

#: ``--json`` of the verbs over local definition files.
REPORT_JSON = "print a machine-readable report"


def register(nouns: Any) -> None:
    """Add the ``agents`` noun to the top-level ``agw`` subparsers."""
    verbs = add_noun(
        nouns,
        "agents",
        help="lint and push agent definitions; list and show the API's agents",
        description=__doc__,
    )

    lint = add_verb(
        verbs,
        "lint",
        _lint,
        help="check definition files",
        description="Check definitions: files, or folders (recursive *.md). "
        "Prints path:line: error|warning: message; exits 1 when any error.",
        json_help=REPORT_JSON,
    )
    lint.add_argument("paths", nargs="+", metavar="PATH", help="file or folder")

    push = add_verb(
        verbs,
        "push",
        _push,
        help="lint, then upload definitions to S3 as <prefix><name>.md",
        description="Lint the definitions; when there is no error, upload each one "
        "to s3://BUCKET/PREFIX<name>.md (text/markdown).",
        json_help=REPORT_JSON,
    )
    push.add_argument("paths", nargs="+", metavar="DIR", help="folder (or files) to push")
    push.add_argument("--bucket", required=True, help="the agents bucket")
    push.add_argument("--prefix", default="agents/", help="key prefix (default: agents/)")
    push.add_argument("--force", action="store_true", help="upload even unchanged files")

    add_api_command(
        verbs,
        "list",
        _list_agents,
        help="the API's agents: name, model, version, contracts (GET /agents)",
        description="List the agents the API serves (and definitions that do not load).",
    )
    show = add_api_command(
        verbs,
        "show",
        _show_agent,
        help="one agent's metadata and input/output contracts (GET /agents/NAME)",
        description="Show one agent as the API serves it (never its prompt).",
    )
    show.add_argument("name", metavar="NAME")


def _print_findings(report: LintReport) -> None:
    for finding in report.findings:
        print(finding.format())
    files = len(report.files)
    print(
        f"{files} file{'s' if files != 1 else ''}: "
        f"{report.errors} error{'s' if report.errors != 1 else ''}, "
        f"{report.warnings} warning{'s' if report.warnings != 1 else ''}",
        file=sys.stderr,
    )


def _lint(args: argparse.Namespace) -> int:
    from agents.definition_lint import lint_paths

    report = lint_paths(args.paths)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        _print_findings(report)
    return 0 if report.ok else 1


def _push(args: argparse.Namespace) -> int:
    from agents.publish import push_paths

    report, pushed = push_paths(args.paths, args.bucket, args.prefix, force=args.force)
    if args.json:
        print(
            json.dumps(
                {"lint": report.to_dict(), "pushed": [p.to_dict() for p in pushed]}, indent=2
            )
        )
    else:
        _print_findings(report)
        if not report.ok:
            print("agw: nothing uploaded: fix the errors above", file=sys.stderr)
        width = max((len(p.name) for p in pushed), default=0)
        for item in pushed:
            state = "" if item.uploaded else "  (unchanged)"
            etag = item.etag.strip('"')
            print(f"{item.name:<{width}}  {item.version or '-':<10}  {etag}{state}")
    return 0 if report.ok else 1


def _list_agents(client: Any, args: argparse.Namespace) -> int:
    from agw.client_cli import print_json

    data = client.list_agents()
    if args.json:
        print_json(data)
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(show_edge=False, pad_edge=False)
    for column in ("name", "model", "resolved", "version", "required context", "sections"):
        table.add_column(column, no_wrap=True)
    for agent in data.get("items", []):
        inputs = agent.get("input_contract") or {}
        outputs = agent.get("output_contract") or {}
        table.add_row(
            str(agent.get("name")),
            str(agent.get("model") or "-"),
            str(agent.get("resolved_model") or "-"),
            str(agent.get("version") or "-"),
            ", ".join(str(c.get("name")) for c in inputs.get("required_context") or []) or "-",
            str(len(outputs.get("required_sections") or [])),
        )
    Console(width=None if sys.stdout.isatty() else 200).print(table)
    for bad in data.get("invalid", []):
        print(
            f"agw: warning: {bad.get('name')} does not load: {bad.get('error_type')}: "
            f"{bad.get('detail')}",
            file=sys.stderr,
        )
    return 0


def _show_agent(client: Any, args: argparse.Namespace) -> int:
    from agw.client_cli import print_json

    agent = client.get_agent(args.name)
    if args.json:
        print_json(agent)
        return 0
    print(f"{agent.get('name')}  {agent.get('version') or ''}".rstrip())
    if agent.get("description"):
        print(f"  {agent['description']}")
    print(f"  model: {agent.get('model') or '-'} -> {agent.get('resolved_model') or '-'}")
    if agent.get("tools"):
        print(f"  tools: {', '.join(agent['tools'])}")
    if agent.get("last_updated"):
        print(f"  last updated: {agent['last_updated']}")
    inputs = agent.get("input_contract") or {}
    for kind in ("required_context", "optional_context"):
        for item in inputs.get(kind) or []:
            label = "required" if kind == "required_context" else "optional"
            description = f": {item['description']}" if item.get("description") else ""
            print(f"  context {item.get('name')} ({item.get('type')}, {label}){description}")
    outputs = agent.get("output_contract") or {}
    for section in outputs.get("required_sections") or []:
        when = section.get("required_when")
        rule = "required" if section.get("required") else "optional"
        if when and when.get("unparsed"):
            rule = "optional: required_when not understood"
        elif when:
            keys = ("prompt_contains", "invocation_context")
            conditions = {k: when[k] for k in keys if when.get(k) is not None}
            rule = f"required when {json.dumps(conditions or when)}"
        print(f"  section {section.get('name')} ({rule}): {section.get('pattern')}")
    if outputs.get("verdict_values"):
        print(f"  verdicts: {' | '.join(outputs['verdict_values'])}")
    return 0
