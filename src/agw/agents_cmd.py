"""``agw agents lint|push``: check and publish agent definitions."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from agw.lint import LintReport


def register(nouns: Any) -> None:
    """Add the ``agents`` noun to the top-level ``agw`` subparsers."""
    parser: argparse.ArgumentParser = nouns.add_parser(
        "agents", help="lint and push agent definitions", description=__doc__
    )
    verbs = parser.add_subparsers(dest="verb", metavar="<verb>", required=True)

    lint = verbs.add_parser(
        "lint",
        help="check definition files",
        description="Check definitions: files, or folders (recursive *.md). "
        "Prints path:line: error|warning: message; exits 1 when any error.",
    )
    lint.add_argument("paths", nargs="+", metavar="PATH", help="file or folder")
    lint.add_argument("--json", action="store_true", help="print a machine-readable report")
    lint.set_defaults(handler=_lint)

    push = verbs.add_parser(
        "push",
        help="lint, then upload definitions to S3 as <prefix><name>.md",
        description="Lint the definitions; when there is no error, upload each one "
        "to s3://BUCKET/PREFIX<name>.md (text/markdown).",
    )
    push.add_argument("paths", nargs="+", metavar="DIR", help="folder (or files) to push")
    push.add_argument("--bucket", required=True, help="the agents bucket")
    push.add_argument("--prefix", default="agents/", help="key prefix (default: agents/)")
    push.add_argument("--force", action="store_true", help="upload even unchanged files")
    push.add_argument("--json", action="store_true", help="print a machine-readable report")
    push.set_defaults(handler=_push)


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
    from agw.lint import lint_paths

    report = lint_paths(args.paths)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        _print_findings(report)
    return 0 if report.ok else 1


def _push(args: argparse.Namespace) -> int:
    from agw.push import push_paths

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
