"""`sam build` without Docker: arm64/CPython 3.13 layer from PyPI, code-only functions."""

from __future__ import annotations

import importlib.util
import sys
import zipfile
from functools import cache
from pathlib import Path

import pytest

from tests.infra.cfn import ROOT, run_tool, tool

pytestmark = pytest.mark.slow

#: CPython 3.13's bytecode magic (3571); a .pyc from any other version is dead weight.
MAGIC_313 = (3571).to_bytes(2, "little") + b"\r\n"
#: PEP 552 flags: hash-based (bit 0), unchecked (bit 1 clear).
UNCHECKED_HASH = 0b01
ELF_MACHINE_AARCH64 = 0xB7
#: What the layer must provide (module names of layers/requirements.txt; boto3 excepted).
LAYER_MODULES = (
    *("aws_lambda_powertools", "aws_xray_sdk", "pydantic", "pydantic_core"),
    *("anthropic", "yaml"),
)
#: The python3.13 runtime provides these (docs/deploy.md): the layer must not shadow them.
RUNTIME_SDK = ("boto3", "botocore", "s3transfer", "urllib3")


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sam")
    proc = run_tool(
        [
            str(tool("sam", "sam")),
            "build",
            "--template-file",
            str(ROOT / "template.yaml"),
            "--build-dir",
            str(out / "build"),
            "--cache-dir",
            str(out / "cache"),
            "--no-cached",
            "--no-use-container",
        ],
        timeout=280,
    )
    assert proc.returncode == 0, f"sam build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return out / "build"


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


@cache
def _magic_ok() -> bool:
    return sys.version_info[:2] != (3, 13) or importlib.util.MAGIC_NUMBER == MAGIC_313


def _assert_precompiled(root: Path) -> int:
    """Every .py under root has a CPython 3.13 unchecked-hash .pyc beside it."""
    assert _magic_ok()
    sources = [p for p in _files(root) if p.suffix == ".py"]
    assert sources
    for source in sources:
        pyc = source.parent / "__pycache__" / f"{source.stem}.cpython-313.pyc"
        assert pyc.is_file(), f"no bytecode for {source.relative_to(root)}"
        header = pyc.read_bytes()[:16]
        assert header[:4] == MAGIC_313, f"{pyc} is not CPython 3.13 bytecode"
        assert int.from_bytes(header[4:8], "little") == UNCHECKED_HASH, (
            f"{pyc}: not unchecked-hash (Lambda's read-only /opt and /var/task cannot "
            "rewrite a stale timestamp .pyc)"
        )
    strays = [
        p for p in _files(root) if p.suffix == ".pyc" and not p.name.endswith(".cpython-313.pyc")
    ]
    assert not strays, f"bytecode for other interpreters: {strays[:5]}"
    return len(sources)


def test_layer_holds_linux_arm64_cpython313_binaries(build: Path) -> None:
    site = build / "DependenciesLayer" / "python"
    core = site / "pydantic_core" / "_pydantic_core.cpython-313-aarch64-linux-gnu.so"
    assert core.is_file(), sorted(p.name for p in (site / "pydantic_core").iterdir())
    shared = [p for p in _files(site) if ".so" in p.suffixes]
    assert len(shared) >= 3  # pydantic_core, jiter, PyYAML's _yaml at least
    for lib in shared:
        assert "aarch64-linux-gnu" in lib.name or lib.name.endswith(".abi3.so"), lib.name
        head = lib.read_bytes()[:20]
        assert head[:4] == b"\x7fELF", f"{lib.name} is not an ELF object"
        assert int.from_bytes(head[18:20], "little") == ELF_MACHINE_AARCH64, lib.name


def test_layer_wheels_are_tagged_for_the_target(build: Path) -> None:
    from packaging.tags import compatible_tags, cpython_tags, parse_tag

    # Lambda python3.13 runs on Amazon Linux 2023 (glibc 2.34), arm64.
    platforms = ["manylinux2014_aarch64"] + [f"manylinux_2_{m}_aarch64" for m in range(17, 35)]
    target = {
        *cpython_tags((3, 13), abis=["cp313"], platforms=platforms),
        *compatible_tags((3, 13), "cp313", platforms=platforms),
    }
    wheels = sorted((build / "DependenciesLayer" / "python").glob("*.dist-info/WHEEL"))
    assert len(wheels) >= 10
    for wheel in wheels:
        tags = {
            tag
            for line in wheel.read_text(encoding="utf-8").splitlines()
            if line.startswith("Tag:")
            for tag in parse_tag(line.split(":", 1)[1].strip())
        }
        assert tags & target, f"{wheel.parent.name} is built for {sorted(map(str, tags))}"


def test_layer_has_the_runtime_dependencies_and_not_the_aws_sdk(build: Path) -> None:
    site = build / "DependenciesLayer" / "python"
    for module in LAYER_MODULES:
        assert (site / module).is_dir(), f"layer lacks {module}"
    for module in RUNTIME_SDK:
        assert not (site / module).exists(), f"{module} should come from the runtime"
    assert not (site / "bin").exists()
    assert not list(site.rglob("*-stubs"))


def test_layer_is_precompiled(build: Path) -> None:
    assert _assert_precompiled(build / "DependenciesLayer" / "python") > 500


def test_layer_fits_lambda_limits(build: Path, tmp_path: Path) -> None:
    layer = build / "DependenciesLayer"
    unzipped = sum(p.stat().st_size for p in _files(layer))
    archive = tmp_path / "layer.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in _files(layer):
            zf.write(path, path.relative_to(layer))
    zipped = archive.stat().st_size
    # Lambda: 250 MB unzipped for function + layers; budget well below it so growth shows.
    assert unzipped < 80 * 2**20, f"layer grew to {unzipped / 2**20:.1f} MiB unzipped"
    assert zipped < 30 * 2**20, f"layer grew to {zipped / 2**20:.1f} MiB zipped"


@pytest.mark.parametrize(
    "fn",
    ["ApiFunction", "WorkerFunction", "AuthorizerFunction", "CollectorFunction", "SweeperFunction"],
)
def test_function_artifact_holds_only_the_code(build: Path, fn: str) -> None:
    artifact = build / fn
    assert sorted(p.name for p in artifact.iterdir()) == ["agents", "handlers"]
    sources = {p.relative_to(artifact) for p in _files(artifact) if p.suffix == ".py"}
    expected = {
        p.relative_to(ROOT / "src")
        for package in ("agents", "handlers")
        for p in (ROOT / "src" / package).rglob("*.py")
    }
    assert sources == expected
    _assert_precompiled(artifact)
    assert not [p for p in _files(artifact) if p.suffix not in {".py", ".pyc", ".typed", ".json"}]


def test_built_template_points_at_the_artifacts(build: Path) -> None:
    text = (build / "template.yaml").read_text(encoding="utf-8")
    for name in (
        "ApiFunction",
        "WorkerFunction",
        "AuthorizerFunction",
        "CollectorFunction",
        "SweeperFunction",
        "DependenciesLayer",
    ):
        assert f"CodeUri: {name}" in text or f"ContentUri: {name}" in text, name
