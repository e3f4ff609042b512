"""The wheel's package list names every package the source tree has (a split must not drop one)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _source_packages() -> set[str]:
    found: set[str] = set()
    for base, prefix in ((ROOT / "src", ""), (ROOT, "local")):
        roots = [base / "local"] if prefix else [p for p in base.iterdir() if p.is_dir()]
        for root in roots:
            for init in root.rglob("__init__.py"):
                if "__pycache__" in init.parts:
                    continue
                found.add(".".join(init.parent.relative_to(base).parts))
    return found


def test_every_source_package_is_in_the_wheel() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    assert _source_packages() == listed
