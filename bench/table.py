"""One row format and one table renderer for every benchmark.

Each benchmark module exposes ``rows(...) -> list[Row]`` (used by ``python -m bench``)
and a ``main()`` that prints its own table. ``met`` is None for rows that carry
information only (no goal).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["Row", "median", "percentile", "render", "verdict"]


@dataclass(frozen=True)
class Row:
    benchmark: str
    metric: str
    value: str
    goal: str = ""
    met: bool | None = None


def verdict(met: bool | None) -> str:
    if met is None:
        return ""
    return "yes" if met else "**NO**"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(rows: Iterable[Row], *, title: str | None = None) -> str:
    """A GitHub-flavoured Markdown table (readable as plain text too)."""
    header = ("benchmark", "metric", "value", "goal", "met?")
    body = [
        (r.benchmark, r.metric, r.value, r.goal, verdict(r.met))
        for r in rows  # keep the caller's order
    ]
    widths = [max([len(h), *(len(_cell(line[i])) for line in body)]) for i, h in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        return (
            "| " + " | ".join(_cell(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"
        )

    out = [f"## {title}", ""] if title else []
    out.append(line(header))
    out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    out.extend(line(cells) for cells in body)
    return "\n".join(out)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1) of ``values``."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]
