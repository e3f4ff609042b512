"""5. Fuzzing: schemathesis against the running local API's ``/openapi.json``.

Every operation of the document, positive and negative generation, each case sent with
one of four credentials (tenant A's key, tenant B's key, an unknown key, no key), through
the API Gateway shim; then every route with each method API Gateway does not route
(:data:`FUZZ_METHODS`: TRACE, CONNECT, WebDAV verbs, unknown and lower-case tokens) and each
credential (issue 12.4). Checks: no 5xx; every error is an RFC 9457 problem document
(``application/problem+json``), the gateway's own 403s included (the template's gateway
responses); no response body or header leaks a traceback, a source path or a canary.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

from bench.reliability.api_answers import is_problem
from bench.reliability.harness import AGENT, ANTHROPIC_CANARY, KEY_A, KEY_B, REPO, Harness
from bench.reliability.outcome import Outcome

__all__ = ["FUZZ_METHODS", "LEAK_PATTERNS", "fuzz", "leaks_in", "method_probe"]

UNKNOWN_KEY = "agw-rel-unknown-key-0000000000"
#: What must never appear in a response: tracebacks, source locations, local paths, secrets.
LEAK_PATTERNS = [
    re.compile(r"Traceback \(most recent call last\)"),
    re.compile(r'File "[^"]+", line \d+'),
    re.compile(r"site-packages"),
    re.compile(r"/(?:work|home|root|var/task|opt/python)/"),
    re.compile(re.escape(str(REPO))),
    re.compile(r"\b\w+Error: .*\bline \d+, in\b"),
]
SECRETS = (KEY_A, KEY_B, ANTHROPIC_CANARY, UNKNOWN_KEY)
#: Methods outside API Gateway's seven (schemathesis' generate phase never sends them;
#: its coverage phase sends TRACE). Sent as-is: methods are case-sensitive.
FUZZ_METHODS = (
    "TRACE",
    "CONNECT",
    "PROPFIND",
    "MKCOL",
    "FOO",
    "get",
    "Post",
    "ANY",
    "X" * 64,
)


def method_probe(
    api_url: str, method: str, path: str, key: str | None
) -> tuple[int, dict[str, str], str]:
    """One request with ``method`` sent verbatim (http.client does not normalise it)."""
    import http.client
    from urllib.parse import urlsplit

    where = urlsplit(api_url)
    conn = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port, timeout=30)
    try:
        conn.request(method, path, headers={"x-api-key": key} if key else {})
        response = conn.getresponse()
        return (
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            (response.read().decode("utf-8", errors="replace")),
        )
    finally:
        conn.close()


def _route_paths(document: dict[str, Any]) -> list[str]:
    """Every path of the document, parameters filled with plausible values, plus ``/``."""
    values = {"name": AGENT, "id": "inv_00000000000000000000000000000000"}
    paths = []
    for template in document.get("paths", {}):
        paths.append(re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "x"), template))
    return [*paths, "/"]


def leaks_in(text: str, *, secrets: tuple[str, ...] = SECRETS) -> list[str]:
    """The leak patterns and secrets found in ``text``."""
    found = [pattern.pattern for pattern in LEAK_PATTERNS if pattern.search(text)]
    found += [f"secret {secret[:12]}..." for secret in secrets if secret in text]
    return found


def fuzz(h: Harness, *, cases: int = 500, seed: int = 20261128) -> Outcome:
    """At least ``cases`` generated requests over every operation (see the module docs)."""
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis import strategies as st
    from schemathesis import GenerationMode
    from schemathesis.core.result import Ok

    out = Outcome("fuzzing", "5. Fuzzing (schemathesis)")
    with h.client(KEY_A) as client:
        document = client.get("/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    operations = []
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            raise RuntimeError(f"the API's OpenAPI document has an invalid operation: {result}")
        operations.append(result.ok())
    # Strategies: each operation positive and negative, plus invocations of the real agent
    # (so generated bodies reach the service and the model, not only the 404 path).
    plans: list[tuple[str, Any]] = []
    for operation in operations:
        label = f"{operation.method.upper()} {operation.path}"
        plans.append((label, operation.as_strategy(generation_mode=GenerationMode.POSITIVE)))
        try:
            negative = operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)
        except Exception:  # an operation with nothing to make invalid
            negative = None
        if negative is not None:
            plans.append((label + " (negative)", negative))
        if "{name}" in operation.path:
            plans.append(
                (
                    label + f" (name={AGENT})",
                    operation.as_strategy(
                        generation_mode=GenerationMode.POSITIVE, path_parameters={"name": AGENT}
                    ),
                )
            )
    per_plan = math.ceil(cases * 1.3 / max(1, len(plans)))
    credentials = st.sampled_from(["a", "b", "unknown", "none"])
    key_for = {"a": KEY_A, "b": KEY_B, "unknown": UNKNOWN_KEY, "none": None}

    sent: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    by_key: Counter[str] = Counter()
    server_errors: list[str] = []
    not_problem: list[str] = []
    leaked: list[str] = []
    session_errors: list[str] = []

    def probe(label: str, case: Any, who: str) -> None:
        headers = {k: v for k, v in dict(case.headers or {}).items() if k.lower() != "x-api-key"}
        key = key_for[who]
        if key is not None:
            headers["x-api-key"] = key
        case.headers = headers
        try:
            response = case.call(base_url=h.api_url, timeout=60)
        except Exception as exc:  # the transport refused the generated request
            session_errors.append(f"{label}: {type(exc).__name__}")
            return
        sent[label] += 1
        by_key[who] += 1
        statuses[str(response.status_code)] += 1
        text = response.text
        where = f"{label} [{who}] -> {response.status_code}"
        if response.status_code >= 500:
            server_errors.append(f"{where}: {text[:200]}")
        if response.status_code >= 400 and not is_problem(_Adapter(response)):
            not_problem.append(f"{where}: {response.headers.get('content-type')} {text[:120]}")
        header_text = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        found = leaks_in(text + "\n" + header_text)
        if found:
            leaked.append(f"{where}: {found}")

    def runner(label: str, strategy: Any) -> Any:
        @settings(
            max_examples=per_plan,
            database=None,
            deadline=None,
            derandomize=False,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=False,
        )
        @hypothesis_seed(seed)
        @given(case=strategy, who=credentials)
        def run(case: Any, who: str) -> None:
            probe(label, case, who)

        return run

    for label, strategy in plans:
        runner(label, strategy)()

    method_cases = 0
    for path in _route_paths(document):
        for method in FUZZ_METHODS:
            for who, key in key_for.items():
                try:
                    status, headers, text = method_probe(h.api_url, method, path, key)
                except OSError as exc:
                    session_errors.append(f"{method} {path}: {type(exc).__name__}")
                    continue
                method_cases += 1
                statuses[str(status)] += 1
                where = f"{method} {path} [{who}] -> {status}"
                if status >= 500:
                    server_errors.append(f"{where}: {text[:200]}")
                if status < 400 or not is_problem(_Probe(status, headers, text)):
                    not_problem.append(f"{where}: {headers.get('content-type')} {text[:120]}")
                found = leaks_in(text + "\n" + "\n".join(f"{k}: {v}" for k, v in headers.items()))
                if found:
                    leaked.append(f"{where}: {found}")

    total = sum(sent.values())
    out.figures = {
        "cases": total,
        "operations": len(operations),
        "operations_hit": len({label.split(" (")[0] for label in sent}),
        "with_key_a": by_key["a"],
        "with_key_b": by_key["b"],
        "unknown_key": by_key["unknown"],
        "no_key": by_key["none"],
        "statuses": " ".join(f"{k}x{v}" for k, v in sorted(statuses.items())),
        "5xx": len(server_errors),
        "errors_not_problem_json": len(not_problem),
        "leaks": len(leaked),
        "unsendable": len(session_errors),
        "method_cases": method_cases,
    }
    out.check(f"at least {cases} cases", total >= cases)
    out.check("every operation exercised", out["operations_hit"] == len(operations))
    out.check("every route probed with every unsupported method", method_cases > 0)
    out.check("no 5xx", not server_errors)
    out.check("every error is problem+json", not not_problem)
    out.check("no traceback, path or secret in any response", not leaked)
    out.notes.extend((server_errors + not_problem + leaked)[:10])
    return out.done()


class _Adapter:
    """schemathesis' ``Response`` seen through the httpx-like surface ``is_problem`` reads."""

    def __init__(self, response: Any) -> None:
        self.status_code = int(response.status_code)
        self.headers = {k.lower(): _header_value(v) for k, v in response.headers.items()}
        self._response = response

    def json(self) -> Any:
        return self._response.json()


class _Probe:
    """A :func:`method_probe` answer through the surface ``is_problem`` reads."""

    def __init__(self, status: int, headers: dict[str, str], text: str) -> None:
        self.status_code = status
        self.headers = headers
        self._text = text

    def json(self) -> Any:
        import json

        return json.loads(self._text)


def _header_value(value: Any) -> str:
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return str(value)
