"""``python -m bench.reliability`` (``make reliability``): run the scenarios, print the table.

    python -m bench.reliability [--only NAME ...] [--scale 1.0] [--json FILE]

Full size by default (docs/reliability.md); ``--scale 0.5`` halves the job counts.
Exit status 1 when any check failed.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from bench.reliability.outcome import Outcome
from bench.reliability.scenarios import SCENARIOS, render_table, run_scenarios


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reliability", description=__doc__)
    parser.add_argument("--only", nargs="+", choices=[s.name for s in SCENARIOS])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply job counts (<= 1)")
    parser.add_argument("--json", type=Path, help="also write the outcomes as JSON here")
    parser.add_argument("--verbose", action="store_true", help="keep the stack's logs")
    args = parser.parse_args(argv)
    if not args.verbose:
        # The stack's logs (Powertools JSON, EMF) would drown the table: send them away.
        _silence()
    started = time.monotonic()
    outcomes: list[Outcome] = run_scenarios(args.only, scale=args.scale, progress=_progress)
    table = render_table(outcomes)
    elapsed = time.monotonic() - started
    print(table, file=sys.__stdout__, flush=True)
    print(
        f"\n{len(outcomes)} scenarios in {elapsed:.0f} s; "
        f"{sum(o.ok for o in outcomes)} passed, {sum(not o.ok for o in outcomes)} failed",
        file=sys.__stdout__,
        flush=True,
    )
    for outcome in outcomes:
        if not outcome.ok:
            print(f"\n{outcome.title}: failed checks {outcome.failed}", file=sys.__stdout__)
            for note in outcome.notes:
                print(f"  {note[:500]}", file=sys.__stdout__)
    if args.json:
        args.json.write_text(json.dumps([o.to_json() for o in outcomes], indent=2) + "\n")
    return 0 if all(o.ok for o in outcomes) else 1


def _progress(message: str) -> None:
    print(message, file=sys.__stderr__, flush=True)


def _silence() -> None:
    import io
    import os
    import warnings

    from agents.observability import logger

    devnull = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    for handler in logging.getLogger(logger.name).handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(devnull)
    logging.getLogger().setLevel(logging.ERROR)
    warnings.simplefilter("ignore")  # Powertools' "no application metrics" per empty flush
    sys.stdout = io.TextIOWrapper(open(os.devnull, "wb"), write_through=True)  # noqa: SIM115


if __name__ == "__main__":
    raise SystemExit(main())
