"""Model alias resolution: ``opus``/``sonnet``/``haiku``/``inherit``/full ids.

One map decides: defaults derived from the model ids the installed
``anthropic`` SDK knows (its ``ModelParam`` literal list; for every family
word the newest id wins), with ``MODEL_ALIASES`` (JSON) merged over it.
``inherit`` or no model means ``DEFAULT_MODEL``. Full ids (``claude-...``) pass
through unchanged. Anything else is :class:`agents.errors.UnknownModel`.

Importing ``anthropic`` costs over a second, so the literal list is read from
the SDK's ``types/model_param.py`` source with :mod:`ast` (no import), falling
back to importing the module only if that file cannot be read. Either way it
happens once, on first use.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path
from typing import TYPE_CHECKING

from agents.container import per_container
from agents.errors import UnknownModel

if TYPE_CHECKING:
    from agents.config import Settings

__all__ = [
    "INHERIT",
    "default_aliases",
    "is_full_model_id",
    "known_model_ids",
    "model_aliases",
    "resolve_model",
]

INHERIT = "inherit"
_FULL_ID_PREFIX = "claude-"
_MAX_ALIAS_HOPS = 5

# claude-<family>-<major>[-<minor>][-<YYYYMMDD>]  (current naming)
_NEW_STYLE = re.compile(
    r"claude-(?P<family>[a-z]+)-(?P<major>\d+)(?:-(?P<minor>\d{1,2}))?(?:-(?P<date>\d{8}))?"
)
# claude-<major>[-<minor>]-<family>[-<YYYYMMDD>|-latest]  (older naming)
_OLD_STYLE = re.compile(
    r"claude-(?P<major>\d+)(?:-(?P<minor>\d{1,2}))?-(?P<family>[a-z]+)(?:-(?P<date>\d{8})|-latest)?"
)


def _literal_ids_from_source() -> list[str] | None:
    spec = importlib.util.find_spec("anthropic")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / "types" / "model_param.py"
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, ValueError):
            continue
        ids = [
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.startswith(_FULL_ID_PREFIX)
        ]
        if ids:
            return ids
    return None


def _literal_ids_from_import() -> list[str]:
    import typing

    from anthropic.types.model_param import ModelParam

    ids: list[str] = []
    stack: list[object] = [ModelParam]
    while stack:
        item = stack.pop()
        for arg in typing.get_args(item):
            if isinstance(arg, str):
                ids.append(arg)
            else:
                stack.append(arg)
    return ids


@per_container
def known_model_ids() -> tuple[str, ...]:
    """Every model id the installed anthropic SDK lists (in its order)."""
    ids = _literal_ids_from_source()
    if ids is None:
        ids = _literal_ids_from_import()
    return tuple(dict.fromkeys(i for i in ids if i.startswith(_FULL_ID_PREFIX)))


def _rank(model_id: str) -> tuple[str, tuple[int, int, int, int]] | None:
    """(family, sort key) for a model id; newer sorts higher. None: not versioned."""
    match = _NEW_STYLE.fullmatch(model_id) or _OLD_STYLE.fullmatch(model_id)
    if match is None:
        return None
    major = int(match["major"])
    minor = int(match["minor"] or 0)
    date = match["date"]
    # For the same version, prefer the undated alias (it tracks the snapshot).
    undated = 0 if date else 1
    return match["family"], (major, minor, undated, int(date or 0))


def derive_aliases(model_ids: tuple[str, ...] | list[str]) -> dict[str, str]:
    """family word -> newest id of that family, e.g. ``{"opus": "claude-opus-5-5"}``."""
    best: dict[str, tuple[tuple[int, int, int, int], str]] = {}
    for model_id in model_ids:
        ranked = _rank(model_id)
        if ranked is None:
            continue
        family, key = ranked
        if family not in best or key > best[family][0]:
            best[family] = (key, model_id)
    return {family: model_id for family, (_, model_id) in sorted(best.items())}


@per_container
def _default_aliases() -> tuple[tuple[str, str], ...]:
    return tuple(derive_aliases(known_model_ids()).items())


def default_aliases() -> dict[str, str]:
    """Built-in aliases, derived once from the SDK's model list (a fresh copy)."""
    return dict(_default_aliases())


def model_aliases(settings: Settings | None = None) -> dict[str, str]:
    """Defaults with ``MODEL_ALIASES`` merged over them (keys lower-cased)."""
    if settings is None:
        from agents.config import get_settings

        settings = get_settings()
    merged = default_aliases()
    merged.update({k.strip().lower(): v.strip() for k, v in settings.model_aliases.items()})
    return merged


def is_full_model_id(value: str) -> bool:
    return value.startswith(_FULL_ID_PREFIX)


def resolve_model(alias: str | None, settings: Settings | None = None) -> str:
    """The model id to call for a definition's ``model`` value.

    ``None``/``""``/``inherit`` -> ``settings.default_model`` (itself resolved);
    an alias in the merged map -> its target (aliases may chain, bounded);
    ``claude-...`` -> unchanged. Raises :class:`UnknownModel` otherwise.
    """
    if settings is None:
        from agents.config import get_settings

        settings = get_settings()
    aliases = model_aliases(settings)
    requested = alias
    value = (alias or "").strip()
    if not value or value.lower() == INHERIT:
        value = settings.default_model.strip()
        if not value or value.lower() == INHERIT:
            raise UnknownModel(
                f"DEFAULT_MODEL must name a model or an alias, not {settings.default_model!r}"
            )
    for _ in range(_MAX_ALIAS_HOPS):
        key = value.lower()
        if key in aliases:
            target = aliases[key]
            if target.lower() == key:
                break
            value = target
            continue
        if is_full_model_id(value):
            return value
        break
    if is_full_model_id(value):
        return value
    known = ", ".join(sorted([*aliases, INHERIT]))
    raise UnknownModel(
        f"unknown model alias {requested if requested else value!r}; "
        f"use a full model id (claude-...) or one of: {known}",
        alias=str(requested if requested else value)[:100],
    )
