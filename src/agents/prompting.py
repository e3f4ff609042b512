"""The text the runner sends around an agent's definition, and how it is read back: the
output contract instruction (line-oriented, so the offline fake in ``local/fake_anthropic/``
can follow it via :func:`parse_contract_instruction`), the user turn (context blocks, then
the input) and the repair turn. Pure text: no SDK, no I/O. docs/runner.md describes each.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

CONTRACT_OPEN = "<output_contract>"
CONTRACT_CLOSE = "</output_contract>"
REPAIR_OPEN = "<contract_repair>"
REPAIR_CLOSE = "</contract_repair>"
VERDICT_PLACEHOLDER = "<VERDICT>"

#: Line prefixes of the machine-readable lines in the contract instruction.
HEADING_KEY = "heading: "
HEADING_PATTERN_KEY = "heading-pattern: "
VERDICTS_KEY = "verdicts: "
#: The line naming the tools the run offers (tool runs only).
TOOLS_KEY = "tools you have: "
VERDICT_LINE_KEY = "verdict line: "
VERDICT_SEPARATOR = " | "

#: The verdict line the runner asks for when no required heading carries the verdict.
DEFAULT_VERDICT_LINE = f"VERDICT: {VERDICT_PLACEHOLDER}"

_CONTEXT_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class _Section(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def pattern(self) -> str: ...


class _OutputContract(Protocol):
    @property
    def verdict_values(self) -> Sequence[str]: ...
    def sections_for(self, prompt: str, invocation_context: str | None = None) -> Sequence[Any]: ...


# --- heading examples from section patterns ----------------------------------

_TOKEN = re.compile(
    r"""
    (?P<escape>\\[^A-Za-z0-9])          # \#  \.  \(  ...
  | (?P<space>\\s[*+?]?|\ [*+?])        # \s  \s*  \s+  " *"  " +"
  | (?P<hashes>\#(?:\+|\*|\{\d+(?:,\d*)?\}))  # #+  #*  #{2}  #{1,3}
  | (?P<group>\((?:\?:)?[^()]*\)\??)    # (A|B)  (?:A|B)  (A)?  one level only
  | (?P<literal>[^\\^$.|?*+()\[\]{}])   # a plain character
    """,
    re.VERBOSE,
)


def _group_example(group: str, verdicts: Sequence[str]) -> str | None:
    optional = group.endswith("?")
    inner = group.rstrip("?")[1:-1]
    inner = inner.removeprefix("?:")
    alternatives = inner.split("|")
    if verdicts and len(alternatives) > 1 and set(alternatives) <= set(verdicts):
        return VERDICT_PLACEHOLDER
    if optional:
        return ""
    return _pattern_example(alternatives[0], verdicts)


def _pattern_example(pattern: str, verdicts: Sequence[str]) -> str | None:
    out: list[str] = []
    position = 0
    while position < len(pattern):
        match = _TOKEN.match(pattern, position)
        if match is None:
            return None
        position = match.end()
        kind = match.lastgroup
        text = match.group()
        if kind == "escape":
            out.append(text[1])
        elif kind == "space":
            out.append("" if text[-1] in "*?" and out and out[-1].endswith(" ") else " ")
        elif kind == "hashes":
            counts = re.findall(r"\d+", text)
            out.append("#" * max(int(counts[0]) if counts else 2, 1))
        elif kind == "group":
            example = _group_example(text, verdicts)
            if example is None:
                return None
            out.append(example)
        else:
            out.append(text)
    return "".join(out)


def _matches(pattern: str, line: str, verdicts: Sequence[str]) -> bool:
    try:
        compiled = re.compile(pattern, re.MULTILINE)
    except re.error:
        return False
    if VERDICT_PLACEHOLDER in line:
        return bool(verdicts) and all(
            compiled.search(line.replace(VERDICT_PLACEHOLDER, verdict)) for verdict in verdicts
        )
    return compiled.search(line) is not None


def example_heading(name: str, pattern: str, verdicts: Sequence[str] = ()) -> str | None:
    """A heading line that satisfies ``pattern`` (``<VERDICT>`` where a verdict goes).

    Tries a literal reading of the pattern first (``^## Summary`` -> ``## Summary``,
    ``^## VERDICT: (PASS|FAIL)$`` -> ``## VERDICT: <VERDICT>``), then ``## <name>``.
    Returns None when neither provably matches; the instruction then states the
    pattern itself.
    """
    body = pattern.removeprefix("^").removesuffix("$")
    candidates = [_pattern_example(body, verdicts), f"## {name}"]
    for candidate in candidates:
        if candidate and candidate.strip() and _matches(pattern, candidate.strip(), verdicts):
            return candidate.strip()
    return None


# --- the contract instruction -------------------------------------------------


@dataclass
class ContractInstruction:
    """What the contract instruction asks for, as read back from the system prompt."""

    headings: list[str] = field(default_factory=list)
    #: Regexes of sections for which no literal heading could be derived.
    heading_patterns: list[str] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)
    verdict_line: str | None = None


def build_contract_instruction(
    contract: _OutputContract,
    prompt: str,
    invocation_context: str | None = None,
    *,
    tools: Sequence[str] = (),
) -> str | None:
    """The system block stating ``contract`` for this request (None: nothing to state);
    ``tools``: the tools the run offers, named so the answer reports only what they did."""
    sections: Sequence[_Section] = contract.sections_for(prompt, invocation_context)
    verdicts = [str(value) for value in contract.verdict_values]
    if not sections and not verdicts:
        return None
    lines = [
        CONTRACT_OPEN,
        "Your answer is checked automatically against this agent's output contract.",
        "Write it in Markdown. Include every section listed below, in this order, and start "
        "each one with its heading line exactly as written, on a line of its own "
        "(a 'heading-pattern' line gives a regular expression the heading line must match):",
    ]
    verdict_in_heading = False
    for section in sections:
        heading = example_heading(section.name, section.pattern, verdicts)
        if heading is None:
            lines.append(f"{HEADING_PATTERN_KEY}{section.pattern}")
        else:
            verdict_in_heading = verdict_in_heading or VERDICT_PLACEHOLDER in heading
            lines.append(f"{HEADING_KEY}{heading}")
    if verdicts:
        lines.append(f"{VERDICTS_KEY}{VERDICT_SEPARATOR.join(verdicts)}")
        if not verdict_in_heading:
            lines.append(f"{VERDICT_LINE_KEY}{DEFAULT_VERDICT_LINE}")
            lines.append("End the answer with the verdict line, on a line of its own.")
        lines.append(
            f"Write exactly one of the verdicts in place of {VERDICT_PLACEHOLDER}; "
            "use no other verdict."
        )
    if tools:
        lines.append(
            f"{TOOLS_KEY}{', '.join(tools)}. Use them to do the work before you answer; "
            "report only changes you made with them."
        )
    lines.append(CONTRACT_CLOSE)
    return "\n".join(lines)


def parse_contract_instruction(text: str) -> ContractInstruction | None:
    """Read the last contract instruction in ``text`` (None when there is none)."""
    start = text.rfind(CONTRACT_OPEN)
    if start < 0:
        return None
    end = text.find(CONTRACT_CLOSE, start)
    block = text[start + len(CONTRACT_OPEN) : end if end >= 0 else len(text)]
    found = ContractInstruction()
    for raw in block.splitlines():
        line = raw.strip()
        if line.startswith(HEADING_KEY):
            found.headings.append(line.removeprefix(HEADING_KEY).strip())
        elif line.startswith(HEADING_PATTERN_KEY):
            found.heading_patterns.append(line.removeprefix(HEADING_PATTERN_KEY).strip())
        elif line.startswith(VERDICTS_KEY):
            values = line.removeprefix(VERDICTS_KEY).split(VERDICT_SEPARATOR.strip())
            found.verdicts.extend(value.strip() for value in values if value.strip())
        elif line.startswith(VERDICT_LINE_KEY):
            found.verdict_line = line.removeprefix(VERDICT_LINE_KEY).strip()
    return found


# --- the user turn --------------------------------------------------------------


def _escape_context(value: str) -> str:
    return value.replace("</context>", "<\\/context>")


def render_context_value(value: Any) -> str:
    """A context value as text: strings as they are, anything else as indented JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def order_context_names(context: Mapping[str, Any], declared: Iterable[str] = ()) -> list[str]:
    """Declared names first (in contract order), then the rest sorted by name."""
    declared_present = [name for name in dict.fromkeys(declared) if name in context]
    rest = sorted(name for name in context if name not in set(declared_present))
    return declared_present + rest


def render_user_turn(
    input_text: str, context: Mapping[str, Any] | None = None, declared: Iterable[str] = ()
) -> str:
    """The user turn: one ``<context name="...">`` block per value, then the input.

    Context names must match ``[A-Za-z0-9_.-]{1,64}`` (callers validate first;
    this raises ``ValueError`` otherwise). A literal ``</context>`` inside a value
    is written as ``<\\/context>`` so a value cannot close its block early.
    """
    if not context:
        return input_text
    blocks: list[str] = []
    for name in order_context_names(context, declared):
        if not _CONTEXT_NAME.match(name):
            raise ValueError(f"invalid context name {name!r}")
        value = _escape_context(render_context_value(context[name]))
        blocks.append(f'<context name="{name}">\n{value}\n</context>')
    return "\n\n".join([*blocks, input_text])


def valid_context_name(name: str) -> bool:
    return bool(_CONTEXT_NAME.match(name))


# --- the repair turn --------------------------------------------------------------


def build_repair_turn(missing: Sequence[str], verdict_error: str | None = None) -> str:
    """The one follow-up turn sent when required sections are missing."""
    lines = [REPAIR_OPEN]
    if missing:
        lines.append("Your answer is missing these required sections: " + ", ".join(missing) + ".")
    if verdict_error:
        lines.append(f"The verdict is not acceptable: {verdict_error}.")
    lines.append(
        "Reply with the complete answer again, from the beginning, including every section "
        "the output contract lists, in its order, each starting with its heading line exactly "
        "as written."
    )
    lines.append(REPAIR_CLOSE)
    return "\n".join(lines)


def is_repair_turn(text: str) -> bool:
    return REPAIR_OPEN in text
