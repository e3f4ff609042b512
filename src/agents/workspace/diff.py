"""A git-style unified diff of a workspace's changes (``git apply`` and ``patch -p1`` take it).

Text files get ordinary hunks (with ``\\ No newline at end of file`` where due); binary files
a ``GIT binary patch`` literal, which ``git apply`` applies (``patch`` skips them).
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import zlib
from collections.abc import Iterator

__all__ = ["file_diff", "git_blob_id", "is_binary_content"]

NO_NEWLINE = "\\ No newline at end of file\n"
#: Bytes sniffed for NUL when deciding whether content is binary (git reads 8000).
SNIFF_BYTES = 8000
_NULL_ID = "0" * 40


def is_binary_content(data: bytes) -> bool:
    """Binary: a NUL in the first 8000 bytes, or not UTF-8."""
    if b"\0" in data[:SNIFF_BYTES]:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def git_blob_id(data: bytes) -> str:
    """The object id git gives ``data`` as a blob."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def file_diff(path: str, old: bytes | None, new: bytes | None) -> str:
    """The diff of one file: ``old`` None = added, ``new`` None = deleted."""
    name_a, name_b = _quoted("a/" + path), _quoted("b/" + path)
    old_id = git_blob_id(old) if old is not None else _NULL_ID
    new_id = git_blob_id(new) if new is not None else _NULL_ID
    head = [f"diff --git {name_a} {name_b}\n"]
    if old is None:
        head.append("new file mode 100644\n")
        head.append(f"index {old_id}..{new_id}\n")
    elif new is None:
        head.append("deleted file mode 100644\n")
        head.append(f"index {old_id}..{new_id}\n")
    else:
        head.append(f"index {old_id}..{new_id} 100644\n")
    before, after = old or b"", new or b""
    if not before and not after:
        return "".join(head)
    if is_binary_content(before) or is_binary_content(after):
        blocks = [_binary_literal(after), "\n", _binary_literal(before), "\n"]
        return "".join([*head, "GIT binary patch\n", *blocks])
    hunks = list(_text_hunks(before.decode(), after.decode()))
    if not hunks:
        return "".join(head)
    head.append(f"--- {name_a if old is not None else '/dev/null'}\n")
    head.append(f"+++ {name_b if new is not None else '/dev/null'}\n")
    return "".join(head + hunks)


def _text_hunks(before: str, after: str) -> Iterator[str]:
    lines = difflib.unified_diff(_lines(before), _lines(after), n=3, lineterm="")
    for index, line in enumerate(lines):
        if index < 2:  # difflib's own ---/+++ header
            continue
        if line.startswith("@@"):
            yield line if line.endswith("\n") else line + "\n"
        elif line.endswith("\n"):
            yield line
        else:
            yield line + "\n" + NO_NEWLINE


def _lines(text: str) -> list[str]:
    """Lines split on ``\\n`` only (as git does), each keeping its newline."""
    if not text:
        return []
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _binary_literal(data: bytes) -> str:
    """git's ``literal`` block: zlib-deflated, base85 in lines of at most 52 bytes."""
    packed = zlib.compress(data, 9)
    out = [f"literal {len(data)}\n"]
    for start in range(0, len(packed), 52):
        chunk = packed[start : start + 52]
        size = len(chunk)
        prefix = chr(ord("A") + size - 1) if size <= 26 else chr(ord("a") + size - 27)
        padded = chunk + b"\0" * (-size % 4)
        out.append(prefix + base64.b85encode(padded).decode() + "\n")
    return "".join(out)


def _quoted(name: str) -> str:
    """git's C-style quoting of a name with a quote or non-ASCII characters."""
    if name.isascii() and '"' not in name:
        return name
    escaped = []
    for byte in name.encode():
        if byte == ord('"'):
            escaped.append('\\"')
        elif 0x20 <= byte < 0x7F:
            escaped.append(chr(byte))
        else:
            escaped.append(f"\\{byte:03o}")
    return '"' + "".join(escaped) + '"'
