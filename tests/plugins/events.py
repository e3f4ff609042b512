"""The sample events in ``events/`` and the statuses ``events/README.md``'s table documents."""

from __future__ import annotations

import re
from pathlib import Path

EVENTS = Path(__file__).resolve().parents[2] / "events"
_ROW = re.compile(r"^\| `(?P<file>[\w-]+\.json)` \|.*\| (?P<status>\d{3}) \|[^|]*\|$")


def documented_statuses(prefix: str = "") -> dict[str, int]:
    """``events/README.md``: event file (starting with ``prefix``) -> its documented status."""
    rows: dict[str, int] = {}
    for line in (EVENTS / "README.md").read_text().splitlines():
        match = _ROW.match(line.strip())
        if match and match["file"].startswith(prefix):
            rows[match["file"]] = int(match["status"])
    return rows
