"""Hostile workspace archives as real ``.zip`` / ``.tar.gz`` bytes (the tests and
``make reliability`` use the same builders)."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from collections.abc import Callable, Mapping

__all__ = [
    "HOSTILE_ARCHIVES",
    "hardlink_tar",
    "many_files_zip",
    "nul_name_tar",
    "nul_name_zip",
    "special_tar",
    "special_zip",
    "tar_gz",
    "zip_bomb",
    "zip_of",
]


def zip_of(files: Mapping[str, bytes], *, mode: int = stat.S_IFREG | 0o644) -> bytes:
    """A plain zip; every entry gets ``mode`` (unix ``external_attr``)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def special_zip(kind: int, *, before: Mapping[str, bytes] | None = None) -> bytes:
    """Valid files (``before``), then one entry of file type ``kind`` (symlink, device...)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in (before or {}).items():
            archive.writestr(name, data)
        info = zipfile.ZipInfo("link")
        info.create_system = 3
        info.external_attr = (kind | 0o777) << 16
        archive.writestr(info, b"/etc/passwd")
    return buffer.getvalue()


def zip_bomb(*, actual: int = 50 * 1024 * 1024, declared: int = 10) -> bytes:
    """One entry of ``actual`` zero bytes whose headers declare ``declared`` bytes."""
    data = zip_of({"bomb.txt": b"\0" * actual})
    raw = bytearray(data)
    real = actual.to_bytes(4, "little")
    fake = declared.to_bytes(4, "little")
    local = raw.find(b"PK\x03\x04")
    central = raw.find(b"PK\x01\x02")
    assert raw[local + 22 : local + 26] == real
    assert raw[central + 24 : central + 28] == real
    raw[local + 22 : local + 26] = fake
    raw[central + 24 : central + 28] = fake
    return bytes(raw)


def nul_name_zip() -> bytes:
    """An entry named ``ok.txt\\0.sh`` in both the local and the central header."""
    data = zip_of({"a.txt": b"fine\n", "ok.txtX.sh": b"echo\n"})
    return data.replace(b"ok.txtX.sh", b"ok.txt\0.sh")


def many_files_zip(count: int = 100_000) -> bytes:
    """``count`` empty files (stored, so building it is quick)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for index in range(count):
            archive.writestr(f"f/{index}", b"")
    return buffer.getvalue()


def tar_gz(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def _file(name: str) -> tarfile.TarInfo:
    return tarfile.TarInfo(name)


def special_tar(kind: bytes, *, linkname: str = "/etc/passwd") -> bytes:
    """A regular file, then one member of tar type ``kind`` (SYMTYPE, CHRTYPE, FIFOTYPE...)."""
    special = tarfile.TarInfo("special")
    special.type = kind
    special.linkname = linkname
    return tar_gz([(_file("a.txt"), b"fine\n"), (special, None)])


def hardlink_tar() -> bytes:
    return special_tar(tarfile.LNKTYPE, linkname="a.txt")


def nul_name_tar() -> bytes:
    """A pax ``path`` record with a NUL in it."""
    info = _file("placeholder")
    info.pax_headers = {"path": "ok.txt\0.sh"}
    return tar_gz([(_file("a.txt"), b"fine\n"), (info, b"echo\n")])


#: label -> builder, the cases of the hostile-workspaces scenario.
HOSTILE_ARCHIVES: dict[str, Callable[[], bytes]] = {
    "zip bomb (declares 10 B, holds 50 MiB)": zip_bomb,
    "zip symlink": lambda: special_zip(stat.S_IFLNK, before={"a.txt": b"fine\n"}),
    "zip device": lambda: special_zip(stat.S_IFCHR),
    "zip traversal": lambda: zip_of({"../../etc/cron.d/x": b"x"}),
    "zip absolute path": lambda: zip_of({"/etc/passwd": b"x"}),
    "zip NUL in a name": nul_name_zip,
    "zip 100 000 files": many_files_zip,
    "tar.gz symlink": lambda: special_tar(tarfile.SYMTYPE),
    "tar.gz hard link": hardlink_tar,
    "tar.gz device": lambda: special_tar(tarfile.CHRTYPE),
    "tar.gz traversal": lambda: tar_gz([(_file("../escape.txt"), b"x")]),
    "tar.gz NUL in a name": nul_name_tar,
    "not an archive": lambda: b"#!/bin/sh\nrm -rf /\n",
}
