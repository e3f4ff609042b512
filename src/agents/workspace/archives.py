"""Uploaded archives (``.zip``, ``.tar.gz``): every entry checked before anything is unpacked.

Pass one reads only the entries' metadata: types (regular files and directories only: no
symlink, hard link, device, fifo, socket, sparse or encrypted entry), paths
(:func:`~agents.workspace.paths.normalize_path`), count, and declared per-file and total
sizes. Pass two decompresses into memory with every read bounded, so an entry whose data is
larger than it declares (a zip bomb) fails there too. On any violation nothing is kept.
"""

from __future__ import annotations

import gzip
import io
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from agents.errors import WorkspaceError, WorkspaceLimitExceeded, WorkspacePathError
from agents.workspace.limits import WorkspaceLimits
from agents.workspace.paths import normalize_path

__all__ = ["archive_kind", "read_archive"]

#: Compression methods a zip entry may use: stored, deflate, bzip2, lzma.
_ZIP_METHODS = frozenset({0, 8, 12, 14})
#: Tar framing around the files: headers (pax, long names), padding, end blocks.
_TAR_OVERHEAD_PER_ENTRY = 4096
_TAR_OVERHEAD_FIXED = 20480
_READ_CHUNK = 64 * 1024
_ARCHIVE_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    tarfile.TarError,
    gzip.BadGzipFile,
    zlib.error,
    EOFError,
    OSError,
    NotImplementedError,
    RuntimeError,
    ValueError,
)


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class _Entry:
    name: str
    declared: int


def archive_kind(data: bytes) -> str:
    """``"zip"`` or ``"tar.gz"`` by the content's magic bytes; else :class:`WorkspaceError`."""
    if data[:4] in {b"PK\x03\x04", b"PK\x05\x06"}:
        return "zip"
    if data[:2] == b"\x1f\x8b":
        return "tar.gz"
    raise WorkspaceError("the workspace archive is neither a .zip nor a .tar.gz")


def read_archive(data: bytes, limits: WorkspaceLimits) -> dict[str, bytes]:
    """The files of a checked archive (path -> bytes); raises before keeping anything."""
    kind = archive_kind(data)
    try:
        return _read_zip(data, limits) if kind == "zip" else _read_tar_gz(data, limits)
    except WorkspaceError:
        raise
    except _ARCHIVE_ERRORS as exc:
        raise WorkspaceError(f"the {kind} archive is unreadable: {type(exc).__name__}") from None


# --- shared checks -------------------------------------------------------------------


class _Tally:
    """Counts entries and declared bytes as pass one goes (limits checked at each step)."""

    def __init__(self, limits: WorkspaceLimits) -> None:
        self.limits = limits
        self.files = 0
        self.dirs = 0
        self.declared = 0
        self.names: set[str] = set()

    def directory(self, raw_name: str) -> None:
        normalize_path(raw_name, self.limits)
        self.dirs += 1
        if self.dirs > self.limits.max_files:
            raise WorkspaceLimitExceeded(
                f"the archive has more than {self.limits.max_files} directories",
                limit=self.limits.max_files,
            )

    def file(self, raw_name: str, declared: int) -> _Entry:
        limits = self.limits
        name = normalize_path(raw_name, limits)
        if name in self.names:
            raise WorkspacePathError(f"the archive holds {name!r} twice")
        self.names.add(name)
        self.files += 1
        if self.files > limits.max_files:
            raise WorkspaceLimitExceeded(
                f"the archive has more than {limits.max_files} files",
                limit=limits.max_files,
            )
        if declared > limits.max_file_bytes:
            raise WorkspaceLimitExceeded(
                f"{name!r} is {declared} bytes; the per-file limit is {limits.max_file_bytes}",
                limit=limits.max_file_bytes,
            )
        self.declared += declared
        if self.declared > limits.max_total_bytes:
            raise WorkspaceLimitExceeded(
                f"the archive unpacks to more than {limits.max_total_bytes} bytes",
                limit=limits.max_total_bytes,
            )
        return _Entry(name, declared)


def _read_bounded(stream: _Readable, entry: _Entry) -> bytes:
    """The entry's data; more than it declared -> :class:`WorkspaceError` (nothing kept)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(min(_READ_CHUNK, entry.declared + 1 - size))
        if not chunk:
            break
        size += len(chunk)
        if size > entry.declared:
            raise WorkspaceError(f"{entry.name!r} holds more data than it declares")
        chunks.append(chunk)
        if size == entry.declared and stream.read(1):
            raise WorkspaceError(f"{entry.name!r} holds more data than it declares")
        if size == entry.declared:
            break
    if size != entry.declared:
        raise WorkspaceError(f"{entry.name!r} holds less data than it declares")
    return b"".join(chunks)


# --- zip -----------------------------------------------------------------------------


def _zip_type(info: zipfile.ZipInfo) -> str:
    """``"file"``, ``"dir"``, or the name of a rejected type."""
    mode = info.external_attr >> 16 if info.create_system == 3 else 0
    kind = stat.S_IFMT(mode)
    if kind == stat.S_IFLNK:
        return "symbolic link"
    if kind in {stat.S_IFCHR, stat.S_IFBLK}:
        return "device file"
    if kind == stat.S_IFIFO:
        return "fifo"
    if kind == stat.S_IFSOCK:
        return "socket"
    if kind == stat.S_IFDIR or info.orig_filename.endswith("/"):
        return "dir"
    if kind not in {0, stat.S_IFREG}:
        return "special file"
    return "file"


def _read_zip(data: bytes, limits: WorkspaceLimits) -> dict[str, bytes]:
    declared_entries = _zip_entry_count(data)
    if declared_entries is not None and declared_entries > 2 * limits.max_files:
        raise WorkspaceLimitExceeded(
            f"the archive has {declared_entries} entries; the limit is {limits.max_files} files",
            limit=limits.max_files,
        )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        tally = _Tally(limits)
        checked: list[tuple[zipfile.ZipInfo, _Entry]] = []
        for info in archive.infolist():
            raw = info.orig_filename
            kind = _zip_type(info)
            if kind == "dir":
                tally.directory(raw)
                continue
            if kind != "file":
                raise WorkspaceError(f"the archive entry {raw[:80]!r} is a {kind}")
            if info.flag_bits & 0x1:
                raise WorkspaceError(f"the archive entry {raw[:80]!r} is encrypted")
            if info.compress_type not in _ZIP_METHODS:
                raise WorkspaceError(
                    f"the archive entry {raw[:80]!r} uses an unsupported compression method"
                )
            checked.append((info, tally.file(raw, info.file_size)))
        files: dict[str, bytes] = {}
        for info, entry in checked:
            try:
                with archive.open(info) as stream:
                    files[entry.name] = _read_bounded(stream, entry)
            except zipfile.BadZipFile:
                raise WorkspaceError(
                    f"{entry.name!r} does not match its declared size or checksum"
                ) from None
        return files


def _zip_entry_count(data: bytes) -> int | None:
    """The entry count the end-of-central-directory record (or its zip64 form) declares,
    read before the directory is parsed (None: not found)."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if end < 0 or len(data) < end + 22:
        return None
    count = int.from_bytes(data[end + 10 : end + 12], "little")
    if count != 0xFFFF:
        return count
    locator = end - 20  # zip64: the locator points at the zip64 end record
    if locator < 0 or data[locator : locator + 4] != b"PK\x06\x07":
        return None
    record = int.from_bytes(data[locator + 8 : locator + 16], "little")
    if data[record : record + 4] != b"PK\x06\x06":
        return None
    return int.from_bytes(data[record + 32 : record + 40], "little")


# --- tar.gz --------------------------------------------------------------------------


class _BoundedStream(io.RawIOBase):
    """A read-only view of a decompressing stream that refuses to yield more than ``limit``."""

    def __init__(self, inner: _Readable, limit: int) -> None:
        self._inner = inner
        self._left = limit
        self._limit = limit

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        want = self._left + 1 if size is None or size < 0 else min(size, self._left + 1)
        chunk = self._inner.read(want)
        self._left -= len(chunk)
        if self._left < 0:
            raise WorkspaceLimitExceeded(
                f"the archive decompresses to more than {self._limit} bytes", limit=self._limit
            )
        return chunk


def _tar_members(
    data: bytes, limits: WorkspaceLimits
) -> Iterator[tuple[tarfile.TarFile, tarfile.TarInfo]]:
    limit = (
        limits.max_total_bytes
        + _TAR_OVERHEAD_PER_ENTRY * (2 * limits.max_files + 2)
        + _TAR_OVERHEAD_FIXED
    )
    stream = _BoundedStream(gzip.GzipFile(fileobj=io.BytesIO(data)), limit)
    with tarfile.open(fileobj=stream, mode="r|") as archive:
        for member in archive:
            yield archive, member


def _tar_type(member: tarfile.TarInfo) -> str:
    if member.issym():
        return "symbolic link"
    if member.islnk():
        return "hard link"
    if member.ischr() or member.isblk():
        return "device file"
    if member.isfifo():
        return "fifo"
    if member.issparse():
        return "sparse file"
    if member.isdir():
        return "dir"
    if member.isreg():
        return "file"
    return "special file"


def _read_tar_gz(data: bytes, limits: WorkspaceLimits) -> dict[str, bytes]:
    tally = _Tally(limits)
    entries: dict[str, _Entry] = {}
    for _archive, member in _tar_members(data, limits):
        kind = _tar_type(member)
        if kind == "dir":
            tally.directory(member.name)
        elif kind == "file":
            entries[member.name] = tally.file(member.name, member.size)
        else:
            raise WorkspaceError(f"the archive entry {member.name[:80]!r} is a {kind}")
    files: dict[str, bytes] = {}
    for archive, member in _tar_members(data, limits):
        entry = entries.get(member.name)
        if entry is None or not member.isreg():
            continue
        stream = archive.extractfile(member)
        if stream is None:
            raise WorkspaceError(f"the archive entry {entry.name!r} cannot be read")
        files[entry.name] = _read_bounded(stream, entry)
    if len(files) != len(entries):
        raise WorkspaceError("the archive changed between reads")
    return files
