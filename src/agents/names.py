"""Agent names: the one gate between caller-supplied text and S3 keys.

A name is 1..128 characters of lowercase ASCII letters, digits, ``-``, ``_``,
``:`` (ring-style namespaces such as ``ring:code-reviewer``) and ``.`` (versions
such as ``powershell-5.1-expert``), starting with a letter or a digit. A dot is
never first, never last and never doubled, so no name is ``.``, ``..`` or holds
``..``. Everything else (``/``, ``%2e%2e``, NUL, whitespace, upper case, unicode
lookalikes) is rejected *before* any key is built, so nothing from a URL
reaches S3 unchecked.
"""

from __future__ import annotations

import re

from agents.errors import InvalidAgentName

MAX_NAME_LENGTH = 128

# ASCII-only classes: ``[a-z]`` in a str pattern never matches lookalikes such
# as U+0430 (Cyrillic a) or fullwidth letters. fullmatch + \Z: no trailing "\n".
# A dot only between two non-dot characters: never first, last or doubled.
_NAME_RE = re.compile(r"(?=[a-z0-9_:.\-]{1,128}\Z)[a-z0-9][a-z0-9_:\-]*(?:\.[a-z0-9_:\-]+)*\Z")

RULES = (
    "1-128 characters: lowercase letters a-z, digits, '-', '_', ':' and '.', "
    "starting with a letter or a digit; a '.' is never last and never doubled"
)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def is_valid_agent_name(name: object) -> bool:
    """True when ``name`` is a valid agent name (never raises)."""
    return isinstance(name, str) and _NAME_RE.fullmatch(name) is not None


def validate_agent_name(name: str) -> str:
    """Return ``name`` unchanged when it is a valid agent name.

    Raises :class:`agents.errors.InvalidAgentName` otherwise.
    """
    if not isinstance(name, str):
        raise InvalidAgentName(f"agent name must be a string, got {type(name).__name__}")
    if not name:
        raise InvalidAgentName(f"agent name is empty; a name has {RULES}")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidAgentName(
            f"agent name is {len(name)} characters long; the limit is {MAX_NAME_LENGTH}"
        )
    if _NAME_RE.fullmatch(name) is None:
        raise InvalidAgentName(f"invalid agent name {_shown(name)}: a name has {RULES}")
    return name


def s3_key_for(prefix: str, name: str) -> str:
    """The S3 key of agent ``name`` under ``prefix``: ``<prefix><name>.md``.

    The name is validated first; the prefix is configuration and used as given
    (it normally ends with ``/``, e.g. ``agents/``).
    """
    return f"{prefix}{validate_agent_name(name)}.md"
