"""The scenarios in order, their full sizes, and the table they print."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.reliability import (
    api_scenarios,
    economy_scenarios,
    fuzz,
    hostile_tools,
    hostile_workspaces,
    resume_scenarios,
    run_recovery,
    secrets,
    webhook_scenarios,
    worker_scenarios,
)
from bench.reliability.harness import Harness
from bench.reliability.outcome import Outcome

__all__ = ["SCENARIOS", "Scenario", "render_table", "run_scenarios"]


def _scaled(full: int, scale: float, floor: int) -> int:
    return max(floor, math.ceil(full * scale))


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    #: ``run(harness, scale)``; ``None`` harness for scenarios that start their own stack.
    run: Callable[[Harness | None, float], Outcome]
    own_stack: bool = False


def _shared_harness(harness: Harness | None) -> Harness:
    if harness is None:
        raise RuntimeError("this scenario needs the shared harness")
    return harness


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "idempotency-race",
        "1. Idempotency race",
        lambda h, s: api_scenarios.idempotency_race(
            _shared_harness(h), concurrency=_scaled(50, s, 10)
        ),
    ),
    Scenario(
        "at-least-once",
        "2. At-least-once delivery",
        lambda h, s: worker_scenarios.at_least_once(_shared_harness(h), jobs=_scaled(100, s, 10)),
    ),
    Scenario(
        "chaos",
        "3. Chaos",
        lambda h, s: worker_scenarios.chaos(
            _shared_harness(h), jobs=_scaled(200, s, 20), transient_jobs=_scaled(100, s, 20)
        ),
    ),
    Scenario(
        "poison", "4. Poison messages", lambda h, s: worker_scenarios.poison(_shared_harness(h))
    ),
    Scenario(
        "fuzzing",
        "5. Fuzzing",
        lambda h, s: fuzz.fuzz(_shared_harness(h), cases=_scaled(500, s, 100)),
    ),
    Scenario(
        "tenant-isolation",
        "6. Tenant isolation",
        lambda h, s: api_scenarios.tenant_isolation(_shared_harness(h)),
    ),
    Scenario(
        "secrets",
        "7. Secrets and data hygiene",
        lambda h, s: secrets.secrets_hygiene(),
        own_stack=True,
    ),
    Scenario(
        "hostile-input",
        "8. Hostile input",
        lambda h, s: api_scenarios.hostile_input(_shared_harness(h)),
    ),
    Scenario("limits", "9. Limits", lambda h, s: api_scenarios.limits(_shared_harness(h))),
    Scenario(
        "crash-recovery",
        "10. Crash recovery",
        lambda h, s: worker_scenarios.crash_recovery(_shared_harness(h)),
    ),
    Scenario(
        "hostile-workspaces",
        "11. Hostile workspaces",
        lambda h, s: hostile_workspaces.hostile_workspaces(
            _shared_harness(h), many_files=_scaled(100_000, s, 3000)
        ),
    ),
    Scenario(
        "economy-faults",
        "12. Economy faults",
        lambda h, s: economy_scenarios.economy_faults(
            _shared_harness(h), items=_scaled(200, s, 40)
        ),
    ),
    Scenario(
        "economy-crash",
        "13. Economy crash (kill -9)",
        lambda h, s: economy_scenarios.economy_crash(_shared_harness(h), items=_scaled(50, s, 10)),
    ),
    Scenario(
        "hostile-tools",
        "14. Hostile tool inputs",
        lambda h, s: hostile_tools.hostile_tools(_shared_harness(h)),
    ),
    Scenario(
        "crash-anywhere",
        "15. Crash anywhere (kill -9)",
        lambda h, s: resume_scenarios.crash_anywhere(
            _shared_harness(h), turns_per_boundary=(2, 5) if s >= 1 else (3,)
        ),
    ),
    Scenario(
        "long-run",
        "16. Long run (segments)",
        lambda h, s: resume_scenarios.long_run(_shared_harness(h)),
    ),
    Scenario(
        "prefer-wait",
        "17. Prefer: wait=2",
        lambda h, s: resume_scenarios.prefer_wait(_shared_harness(h)),
    ),
    Scenario(
        "approval",
        "18. Approval (approve, deny)",
        lambda h, s: run_recovery.approval(_shared_harness(h)),
    ),
    Scenario(
        "sweeper",
        "19. Sweeper (killed sync runs)",
        lambda h, s: run_recovery.sweeper(_shared_harness(h)),
    ),
    Scenario(
        "webhook-outage",
        "20. Webhook receiver outage",
        lambda h, s: webhook_scenarios.webhook_outage(invocations=_scaled(40, s, 10)),
        own_stack=True,
    ),
    Scenario(
        "webhook-faults",
        "21. Webhooks under model faults",
        lambda h, s: webhook_scenarios.webhook_faults(invocations=_scaled(200, s, 40)),
        own_stack=True,
    ),
    Scenario(
        "webhook-queue-outage",
        "22. Webhook queue outage",
        lambda h, s: webhook_scenarios.webhook_queue_outage(invocations=_scaled(40, s, 10)),
        own_stack=True,
    ),
)


def run_scenarios(
    names: Sequence[str] | None = None,
    *,
    scale: float = 1.0,
    progress: Callable[[str], None] | None = None,
) -> list[Outcome]:
    """Run the named scenarios (all by default) in order, each on a new stack of its own.

    A fresh harness per scenario (decision 15.60): moto keeps every item and message in
    memory, and one stack shared by all scenarios grew to gigabytes and slowed the later
    ones into timeouts; a fresh one also keeps one scenario's failure from the next."""
    chosen = [s for s in SCENARIOS if names is None or s.name in names]
    outcomes: list[Outcome] = []
    for scenario in chosen:
        if progress:
            progress(f"running {scenario.title} ...")
        harness = None
        try:
            harness = None if scenario.own_stack else Harness().start()
            outcome = scenario.run(harness, scale)
        except Exception as exc:  # one broken scenario must not hide the others
            outcome = Outcome(scenario.name, scenario.title)
            outcome.check("ran", False)
            outcome.notes.append(f"{type(exc).__name__}: {exc}")
        finally:
            if harness is not None:
                harness.stop()
        if progress:
            progress(f"  {'ok' if outcome.ok else 'FAILED'} in {outcome.seconds:.1f} s")
        outcomes.append(outcome)
    return outcomes


def render_table(outcomes: Sequence[Outcome]) -> str:
    """A Markdown table: scenario, figures (counts), checks passed, seconds."""
    header = "| scenario | figures | checks | s |\n|---|---|---|---|"
    rows = [
        f"| {o.title} | {o.summary().replace('|', '/')} | {sum(o.checks.values())}/{len(o.checks)}"
        f"{'' if o.ok else ' **FAILED**'} | {o.seconds:.0f} |"
        for o in outcomes
    ]
    return "\n".join([header, *rows])
