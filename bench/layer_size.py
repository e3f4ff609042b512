"""Layer size: zipped and unzipped, file counts, wheel platform tags, precompiled bytecode.

Builds ``DependenciesLayer`` with ``make layer`` (``sam build DependenciesLayer``: arm64
cp313 wheels, no Docker, the AWS SDK pruned, bytecode precompiled) unless
``.aws-sam/build/DependenciesLayer`` is newer than ``layers/requirements.txt`` and
``layers/Makefile``. Zips it in memory with deflate, as ``sam deploy`` does.

Goal: <= 20 MB zipped, precompiled ``.pyc`` included.

    python -m bench.layer_size [--rebuild]
"""

from __future__ import annotations

import argparse
import io
import subprocess
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bench.table import Row, render

ROOT = Path(__file__).resolve().parents[1]
LAYER_DIR = ROOT / ".aws-sam" / "build" / "DependenciesLayer"
INPUTS = (ROOT / "layers" / "requirements.txt", ROOT / "layers" / "Makefile")
MAX_ZIPPED_MB = 20.0
MB = 1_000_000
MIB = 1 << 20


@dataclass
class LayerReport:
    built: str  # "reused" | "rebuilt"
    files: int = 0
    unzipped_bytes: int = 0
    zipped_bytes: int = 0
    pyc_files: int = 0
    py_files: int = 0
    tags: Counter[str] = field(default_factory=Counter)
    largest: list[tuple[str, int]] = field(default_factory=list)  # (top-level dir, bytes)


def is_fresh(layer: Path = LAYER_DIR, inputs: tuple[Path, ...] = INPUTS) -> bool:
    """The build exists and is newer than every input of the recipe."""
    python = layer / "python"
    if not python.is_dir():
        return False
    built = python.stat().st_mtime
    return all(not source.exists() or source.stat().st_mtime <= built for source in inputs)


def build(rebuild: bool = False) -> str:
    if not rebuild and is_fresh():
        return "reused"
    subprocess.run(["make", "layer"], cwd=ROOT, check=True, timeout=900)
    return "rebuilt"


def wheel_tags(wheel_file: Path) -> list[str]:
    """The ``Tag:`` lines of a ``*.dist-info/WHEEL`` file."""
    return [
        line.split(":", 1)[1].strip()
        for line in wheel_file.read_text(encoding="utf-8", errors="replace").splitlines()
        if line.startswith("Tag:")
    ]


def platform_of(tag: str) -> str:
    """``cp313-cp313-manylinux_2_17_aarch64`` -> ``manylinux_2_17_aarch64``; pure -> ``any``."""
    return tag.rsplit("-", 1)[-1]


def measure(layer: Path = LAYER_DIR, built: str = "reused") -> LayerReport:
    report = LayerReport(built=built)
    files = sorted(p for p in layer.rglob("*") if p.is_file())
    buffer = io.BytesIO()
    by_top: dict[str, int] = defaultdict(int)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(layer))
            size = path.stat().st_size
            report.unzipped_bytes += size
            relative = path.relative_to(layer).parts
            by_top[relative[1] if len(relative) > 2 else relative[-1]] += size
            if path.suffix == ".pyc":
                report.pyc_files += 1
            elif path.suffix == ".py":
                report.py_files += 1
    report.files = len(files)
    report.zipped_bytes = len(buffer.getvalue())
    for wheel in layer.glob("python/*.dist-info/WHEEL"):
        report.tags.update({platform_of(tag) for tag in wheel_tags(wheel)})
    report.largest = sorted(by_top.items(), key=lambda item: item[1], reverse=True)[:5]
    return report


def rows(report: LayerReport) -> list[Row]:
    zipped_mb = report.zipped_bytes / MB
    tags = ", ".join(f"{tag} x{count}" for tag, count in report.tags.most_common())
    return [
        Row(
            "layer",
            f"zipped size ({report.built} build, deflate)",
            f"{zipped_mb:.1f} MB ({report.zipped_bytes / MIB:.1f} MiB)",
            f"<= {MAX_ZIPPED_MB:.0f} MB incl. .pyc",
            zipped_mb <= MAX_ZIPPED_MB,
        ),
        Row(
            "layer",
            "unzipped size / files",
            f"{report.unzipped_bytes / MB:.1f} MB ({report.unzipped_bytes / MIB:.1f} MiB), "
            f"{report.files} files",
        ),
        Row(
            "layer",
            "precompiled bytecode",
            f"{report.pyc_files} .pyc for {report.py_files} .py",
            "every .py precompiled",
            report.pyc_files >= report.py_files > 0,
        ),
        Row("layer", "wheel platform tags", tags),
        Row(
            "layer",
            "largest top-level entries (unzipped)",
            ", ".join(f"{name} {size / MB:.1f} MB" for name, size in report.largest),
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.layer_size", description=__doc__)
    parser.add_argument("--rebuild", action="store_true", help="run `make layer` even if fresh")
    args = parser.parse_args(argv)
    report = measure(built=build(args.rebuild))
    table = rows(report)
    print(render(table, title="dependencies layer"))
    return 0 if all(r.met is not False for r in table) else 1


if __name__ == "__main__":
    raise SystemExit(main())
