"""Archives are checked before anything is unpacked: real zip and tar.gz bytes."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from collections.abc import Callable, Iterator

import pytest

from agents.workspace import (
    Workspace,
    WorkspaceError,
    WorkspaceLimitExceeded,
    WorkspaceLimits,
)
from bench.reliability.hostile_archives import (
    HOSTILE_ARCHIVES,
    hardlink_tar,
    many_files_zip,
    nul_name_tar,
    nul_name_zip,
    special_tar,
    special_zip,
    tar_gz,
    zip_bomb,
    zip_of,
)

LIMITS = WorkspaceLimits()


@pytest.fixture
def unpacked() -> Iterator[list[str]]:
    """The names of the entries whose data was read (zip and tar)."""
    reads: list[str] = []
    zip_open = zipfile.ZipFile.open
    tar_extract = tarfile.TarFile.extractfile

    def counting_open(self: zipfile.ZipFile, name: object, *args: object, **kw: object) -> object:
        reads.append(getattr(name, "filename", str(name)))
        return zip_open(self, name, *args, **kw)  # type: ignore[arg-type]

    def counting_extract(self: tarfile.TarFile, member: object) -> object:
        reads.append(getattr(member, "name", str(member)))
        return tar_extract(self, member)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(zipfile.ZipFile, "open", counting_open)
        patch.setattr(tarfile.TarFile, "extractfile", counting_extract)
        yield reads


def _tar_file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def test_a_zip_loads() -> None:
    data = zip_of({"src/app.py": b"print(1)\n", "README.md": b"# hi\n"})
    workspace = Workspace.from_archive(data, LIMITS)
    assert workspace.paths() == ["README.md", "src/app.py"]
    assert workspace.read_bytes("/workspace/src/app.py") == b"print(1)\n"
    assert workspace.changes() == []


def test_a_tar_gz_loads_with_directories() -> None:
    directory = tarfile.TarInfo("src")
    directory.type = tarfile.DIRTYPE
    data = tar_gz([(directory, None), _tar_file("src/app.py", b"x = 1\n")])
    workspace = Workspace.from_archive(data, LIMITS)
    assert workspace.paths() == ["src/app.py"]
    assert workspace.is_dir("src")


def test_a_zip_with_directory_entries_loads() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("pkg/", b"")
        archive.writestr("pkg/mod.py", b"pass\n")
    assert Workspace.from_archive(buffer.getvalue(), LIMITS).paths() == ["pkg/mod.py"]


def assert_rejected_before_unpacking(
    build: Callable[[], bytes], message: str, unpacked: list[str]
) -> None:
    data = build()
    unpacked.clear()
    with pytest.raises(WorkspaceError, match=message):
        Workspace.from_archive(data, LIMITS)
    assert unpacked == []


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: special_zip(stat.S_IFLNK, before={"a.txt": b"ok"}), "symbolic link"),
        (lambda: special_zip(stat.S_IFCHR, before={"a.txt": b"ok"}), "device file"),
        (lambda: special_zip(stat.S_IFBLK), "device file"),
        (lambda: special_zip(stat.S_IFIFO), "fifo"),
        (lambda: zip_of({"a.txt": b"ok", "../../etc/cron.d/x": b"x"}), "leaves the workspace"),
        (lambda: zip_of({"a.txt": b"ok", "/etc/passwd": b"x"}), "absolute"),
        (lambda: zip_of({"a.txt": b"ok", "a\\..\\b": b"x"}), "backslash"),
        (nul_name_zip, "NUL"),
        (
            lambda: zip_of({"a.txt": b"ok", "big.bin": b"\0" * (LIMITS.max_file_bytes + 1)}),
            "per-file",
        ),
    ],
)
def test_hostile_zip_entries_are_rejected_before_any_unpacking(
    build: Callable[[], bytes], message: str, unpacked: list[str]
) -> None:
    assert_rejected_before_unpacking(build, message, unpacked)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: special_tar(tarfile.SYMTYPE), "symbolic link"),
        (hardlink_tar, "hard link"),
        (lambda: special_tar(tarfile.CHRTYPE), "device file"),
        (lambda: special_tar(tarfile.BLKTYPE), "device file"),
        (lambda: special_tar(tarfile.FIFOTYPE), "fifo"),
        (lambda: tar_gz([_tar_file("ok.txt", b"ok"), _tar_file("../escape", b"x")]), "leaves"),
        (lambda: tar_gz([_tar_file("ok.txt", b"ok"), _tar_file("/etc/passwd", b"x")]), "absolute"),
        (nul_name_tar, "NUL"),
    ],
)
def test_hostile_tar_members_are_rejected_before_any_unpacking(
    build: Callable[[], bytes], message: str, unpacked: list[str]
) -> None:
    assert_rejected_before_unpacking(build, message, unpacked)


def test_a_zip_bomb_declaring_a_small_size_is_rejected() -> None:
    data = zip_bomb(actual=20 * 1024 * 1024, declared=10)
    assert len(data) < 100_000
    with pytest.raises(WorkspaceError, match="declared size"):
        Workspace.from_archive(data, LIMITS)


def test_declared_totals_over_the_limit_are_rejected_before_unpacking(
    unpacked: list[str],
) -> None:
    small = WorkspaceLimits(max_total_bytes=1000, max_file_bytes=600)
    data = zip_of({"a": b"x" * 500, "b": b"y" * 501})
    unpacked.clear()
    with pytest.raises(WorkspaceLimitExceeded, match="more than 1000 bytes") as caught:
        Workspace.from_archive(data, small)
    assert caught.value.status == 413
    assert caught.value.error_type == "workspace-too-large"
    assert unpacked == []


def test_a_gzip_stream_decompressing_past_the_bound_is_cut() -> None:
    small = WorkspaceLimits(max_files=1, max_total_bytes=1024, max_file_bytes=1024)
    data = tar_gz([_tar_file("huge.bin", b"\0" * (4 * 1024 * 1024))])
    with pytest.raises(WorkspaceLimitExceeded):
        Workspace.from_archive(data, small)


def test_100_000_entries_are_rejected_before_unpacking(unpacked: list[str]) -> None:
    data = many_files_zip(100_000)
    unpacked.clear()
    with pytest.raises(WorkspaceLimitExceeded, match="100000 entries"):
        Workspace.from_archive(data, LIMITS)
    assert unpacked == []


def test_more_files_than_allowed_in_a_tar_is_rejected(unpacked: list[str]) -> None:
    data = tar_gz([_tar_file(f"f{index}", b"") for index in range(30)])
    unpacked.clear()
    with pytest.raises(WorkspaceLimitExceeded, match="more than 20 files"):
        Workspace.from_archive(data, WorkspaceLimits(max_files=20))
    assert unpacked == []


def test_duplicate_names_are_rejected() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.txt", b"1")
        archive.writestr("./a.txt", b"2")
    with pytest.raises(WorkspaceError, match="twice"):
        Workspace.from_archive(buffer.getvalue(), LIMITS)


def test_an_encrypted_entry_is_rejected() -> None:
    raw = bytearray(zip_of({"secret.txt": b"x"}))
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = raw.find(signature) + flag_offset
        raw[at] |= 0x1
    with pytest.raises(WorkspaceError, match="encrypted"):
        Workspace.from_archive(bytes(raw), LIMITS)


@pytest.mark.parametrize("data", [b"", b"PK\x03\x04garbage", b"\x1f\x8bnot gzip", b"plain text"])
def test_garbage_is_a_clear_error(data: bytes) -> None:
    with pytest.raises(WorkspaceError) as caught:
        Workspace.from_archive(data, LIMITS)
    assert caught.value.status in {413, 422}


@pytest.mark.parametrize("label", sorted(HOSTILE_ARCHIVES))
def test_every_hostile_archive_of_the_reliability_scenario_is_a_4xx(label: str) -> None:
    data = HOSTILE_ARCHIVES[label]()
    with pytest.raises(WorkspaceError) as caught:
        Workspace.from_archive(data, LIMITS)
    assert caught.value.status in {413, 422}
