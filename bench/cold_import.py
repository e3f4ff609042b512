"""Cold import: each handler module in a fresh interpreter, versus the naive imports.

Every sample is a new ``python`` process that times one import statement with
``time.perf_counter`` (interpreter start-up is left out: Lambda pays it whatever we
import). Samples are interleaved (round robin over the targets), so a noisy neighbour
hits every target alike; the table reports medians and the ratios the goals name.

Bytecode modes (``-X pycache_prefix`` points every mode at its own directory, so the
``__pycache__`` directories next to the sources are never read):

* ``no-pyc``: only the standard library is precompiled (as in the Lambda runtime);
  the dependencies and ``src/`` are compiled from source on every import, like a
  layer in read-only ``/opt`` shipped without bytecode. ``PYTHONDONTWRITEBYTECODE=1``
  keeps it that way from sample to sample.
* ``pyc``: everything imported is precompiled first (``py_compile`` with
  ``unchecked-hash`` invalidation, as ``layers/Makefile`` does for the layer).

The prefixes are built by one preparatory process that imports every target and
compiles exactly the modules it loaded, so nothing else is compiled.

    python -m bench.cold_import [--samples 7] [--mode no-pyc --mode pyc]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.table import Row, median, render

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"

#: Target name -> the import statement it times.
TARGETS: dict[str, str] = {
    "handlers.api": "import handlers.api",
    "handlers.worker": "import handlers.worker",
    "naive": "import anthropic, boto3, aws_lambda_powertools",
    "anthropic": "import anthropic",
}
MODES = ("no-pyc", "pyc")
#: Goals: (numerator, denominator, bound).
GOALS: dict[str, tuple[str, str, float]] = {
    "api/naive": ("handlers.api", "naive", 0.25),
    "worker/anthropic": ("handlers.worker", "anthropic", 1.15),
}
#: Heavy modules whose presence after an import the table reports.
WATCHED = ("anthropic", "boto3", "botocore.client", "httpx", "aws_xray_sdk")

_PROBE = """
import json, sys, time
t = time.perf_counter()
exec(compile(sys.argv[1], "<bench>", "exec"))
elapsed = time.perf_counter() - t
print(json.dumps({"s": elapsed, "modules": len(sys.modules),
                  "loaded": [m for m in sys.argv[2].split(",") if m in sys.modules]}))
"""

_COMPILE_ALL_LOADED = """
import importlib.util, py_compile, sys
for statement in sys.argv[1:]:
    exec(compile(statement, "<bench>", "exec"))
count = 0
for module in list(sys.modules.values()):
    origin = getattr(getattr(module, "__spec__", None), "origin", None)
    if isinstance(origin, str) and origin.endswith(".py"):
        py_compile.compile(origin, cfile=importlib.util.cache_from_source(origin), doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        count += 1
print(count)
"""


@dataclass
class Sample:
    seconds: float
    modules: int
    loaded: list[str]


@dataclass
class ColdImportResult:
    samples: dict[tuple[str, str], list[Sample]] = field(default_factory=dict)  # (mode, target)
    compiled_modules: int = 0

    def median_s(self, mode: str, target: str) -> float:
        return median([s.seconds for s in self.samples.get((mode, target), [])])

    def ratio(self, mode: str, numerator: str, denominator: str) -> float:
        bottom = self.median_s(mode, denominator)
        return self.median_s(mode, numerator) / bottom if bottom else float("nan")

    def loaded(self, mode: str, target: str) -> list[str]:
        found = self.samples.get((mode, target), [])
        return found[0].loaded if found else []

    def modules(self, mode: str, target: str) -> int:
        found = self.samples.get((mode, target), [])
        return found[0].modules if found else 0


def available_targets(targets: Mapping[str, str] = TARGETS) -> dict[str, str]:
    """The targets whose modules exist (``handlers.worker`` may not be written yet)."""
    found: dict[str, str] = {}
    for name, statement in targets.items():
        if name.startswith("handlers."):
            path = SRC / (name.replace(".", "/") + ".py")
            if not path.is_file():
                continue
        found[name] = statement
    return found


def child_env(prefix: Path | None, *, write_bytecode: bool = False) -> dict[str, str]:
    """A clean environment: ``src`` first on the path, nothing from the caller's AWS setup."""
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR"}}
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), *site_dirs()])
    if prefix is not None:
        env["PYTHONPYCACHEPREFIX"] = str(prefix)
    if not write_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def site_dirs() -> list[str]:
    """This interpreter's site-packages; children run with ``-S`` (no ``.pth`` files, so no
    editable-install finder: Lambda has ``/opt/python`` and ``/var/task`` on the path)."""
    paths = sysconfig.get_paths()
    return list(dict.fromkeys([paths["purelib"], paths["platlib"]]))


def stdlib_dirs() -> list[Path]:
    paths = sysconfig.get_paths()
    return sorted({Path(paths["stdlib"]).resolve(), Path(paths["platstdlib"]).resolve()})


def prefixed(prefix: Path, directory: Path) -> Path:
    """Where ``-X pycache_prefix=prefix`` keeps the bytecode of files under ``directory``."""
    return prefix / directory.resolve().relative_to(directory.resolve().anchor)


def prepare_prefixes(base: Path, statements: Sequence[str]) -> tuple[dict[str, Path], int]:
    """``{"pyc": all loaded modules compiled, "no-pyc": the standard library only}``."""
    full = base / "pyc"
    stdlib_only = base / "no-pyc"
    full.mkdir(parents=True)
    stdlib_only.mkdir(parents=True)
    done = subprocess.run(
        [sys.executable, "-S", "-c", _COMPILE_ALL_LOADED, *statements],
        env=child_env(full, write_bytecode=True),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    compiled = int(done.stdout.strip().splitlines()[-1])
    for directory in stdlib_dirs():
        source = prefixed(full, directory)
        if source.is_dir():
            shutil.copytree(
                source,
                prefixed(stdlib_only, directory),
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("site-packages", "dist-packages"),
            )
    return {"pyc": full, "no-pyc": stdlib_only}, compiled


def sample(statement: str, prefix: Path, *, timeout_s: float = 120.0) -> Sample:
    done = subprocess.run(
        [sys.executable, "-S", "-c", _PROBE, statement, ",".join(WATCHED)],
        env=child_env(prefix),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{statement!r} failed in a fresh interpreter:\n{done.stderr[-2000:]}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return Sample(float(data["s"]), int(data["modules"]), list(data["loaded"]))


def run(
    samples: int = 7, modes: Sequence[str] = MODES, targets: Mapping[str, str] = TARGETS
) -> ColdImportResult:
    """``samples`` fresh interpreters per mode and target (name -> import statement)."""
    targets = available_targets(targets)
    result = ColdImportResult()
    with tempfile.TemporaryDirectory(prefix="agw-bench-pyc-") as tmp:
        prefixes, result.compiled_modules = prepare_prefixes(Path(tmp), list(targets.values()))
        for _ in range(samples):
            for mode in modes:
                for name, statement in targets.items():
                    result.samples.setdefault((mode, name), []).append(
                        sample(statement, prefixes[mode])
                    )
    return result


def rows(result: ColdImportResult) -> list[Row]:
    out: list[Row] = []
    modes = sorted({mode for mode, _ in result.samples}, key=MODES.index)
    targets = list(dict.fromkeys(target for _, target in result.samples))
    for mode in modes:
        for target in targets:
            loaded = result.loaded(mode, target)
            out.append(
                Row(
                    "cold import",
                    f"{target} [{mode}] median",
                    f"{result.median_s(mode, target) * 1000:.0f} ms "
                    f"({result.modules(mode, target)} modules"
                    + (f"; loads {', '.join(loaded)}" if loaded else "")
                    + ")",
                )
            )
        for label, (numerator, denominator, bound) in GOALS.items():
            if (mode, numerator) not in result.samples:
                out.append(
                    Row(
                        "cold import",
                        f"{label} [{mode}]",
                        f"n/a ({numerator} missing)",
                        f"<= {bound}",
                        False,
                    )
                )
                continue
            ratio = result.ratio(mode, numerator, denominator)
            out.append(
                Row(
                    "cold import",
                    f"{label} [{mode}]",
                    f"{ratio:.3f}",
                    f"<= {bound}",
                    ratio <= bound,
                )
            )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_import", description=__doc__)
    parser.add_argument("--samples", type=int, default=7)
    parser.add_argument("--mode", action="append", choices=MODES, dest="modes")
    args = parser.parse_args(argv)
    result = run(args.samples, args.modes or MODES)
    table = rows(result)
    print(render(table, title=f"cold import ({args.samples} samples per cell, medians)"))
    return 0 if all(r.met is not False for r in table) else 1


if __name__ == "__main__":
    raise SystemExit(main())
