"""Tenant keys: ``agw_<key id>_<secret>``, generated, parsed and hashed (HMAC-SHA256, pepper).

Only the hash is stored. The hash binds the key id to the secret, so a stored hash
cannot be moved to another key id. Comparison is constant-time (``hmac.compare_digest``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field

__all__ = [
    "KEY_PREFIX",
    "SECRET_BYTES",
    "ParsedKey",
    "generate_key",
    "hash_secret",
    "new_key_id",
    "new_tenant_id",
    "parse_key",
    "secret_matches",
]

KEY_PREFIX = "agw"
#: Random bytes in a key's secret (base64url: 43 characters).
SECRET_BYTES = 32
_ID_CHARS = 16
_KEY_ID = re.compile(r"k[a-z2-7]{" + str(_ID_CHARS) + "}")
_SECRET = re.compile(r"[A-Za-z0-9_-]{43,128}")
_HASH_PREFIX = "hmac-sha256:"


def _random_id(prefix: str) -> str:
    raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()
    return prefix + raw[:_ID_CHARS]


def new_key_id() -> str:
    """``k`` + 16 base32 characters (no ``_``, so the key splits unambiguously)."""
    return _random_id("k")


def new_tenant_id() -> str:
    """``tn`` + 16 base32 characters (also the usage identifier, >= 20 with a prefix)."""
    return _random_id("tn")


@dataclass(frozen=True)
class ParsedKey:
    """A key split into its public id and its secret (never log ``secret``)."""

    key_id: str
    secret: str = field(repr=False)

    @property
    def value(self) -> str:
        return f"{KEY_PREFIX}_{self.key_id}_{self.secret}"


def generate_key(key_id: str | None = None) -> ParsedKey:
    """A fresh key (shown to the operator once)."""
    return ParsedKey(key_id or new_key_id(), secrets.token_urlsafe(SECRET_BYTES))


def parse_key(value: str | None) -> ParsedKey | None:
    """The key's parts, or ``None`` when ``value`` is not a well-formed key."""
    if not value or len(value) > 200:
        return None
    prefix, sep, rest = value.partition("_")
    key_id, sep2, secret = rest.partition("_")
    if prefix != KEY_PREFIX or not sep or not sep2:
        return None
    if not _KEY_ID.fullmatch(key_id) or not _SECRET.fullmatch(secret):
        return None
    return ParsedKey(key_id, secret)


def hash_secret(pepper: bytes, key: ParsedKey) -> str:
    """``hmac-sha256:<hex>`` of ``<key id>:<secret>`` under the pepper."""
    message = f"{key.key_id}:{key.secret}".encode()
    return _HASH_PREFIX + hmac.new(pepper, message, hashlib.sha256).hexdigest()


def secret_matches(pepper: bytes, key: ParsedKey, stored_hash: str) -> bool:
    """Whether ``key`` hashes to ``stored_hash`` (constant time)."""
    return hmac.compare_digest(hash_secret(pepper, key).encode(), stored_hash.encode())
