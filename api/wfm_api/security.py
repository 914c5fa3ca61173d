"""API keys: ``wfm_<prefix>_<secret>``; the database keeps the prefix and a SHA-256 of the secret only.

The secret is 32 random bytes, so a plain SHA-256 is enough (a slow password hash guards guessable secrets).
A key sees and changes only the sites it was granted.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wfm_api.db import ApiKeyRow, ApiKeySiteRow

KEY_HEADER = "X-API-Key"


@dataclass(frozen=True)
class Caller:
    """The key a request came with, and its sites."""

    key_id: int
    sites: frozenset[str]


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(session: Session, sites: list[str], label: str = "") -> str:
    """Create a key granted ``sites``; returns the key text (shown once, never stored)."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    row = ApiKeyRow(prefix=prefix, secret_hash=_digest(secret), label=label)
    session.add(row)
    session.flush()
    for site in dict.fromkeys(sites):
        session.add(ApiKeySiteRow(key_id=row.id, site_id=site))
    session.commit()
    return f"wfm_{prefix}_{secret}"


def caller_of(session: Session, key: str | None) -> Caller | None:
    """The caller a key text belongs to, or None for a missing, malformed, unknown or revoked key."""
    if not key:
        return None
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "wfm":
        return None
    row = session.scalar(sa.select(ApiKeyRow).where(ApiKeyRow.prefix == parts[1]))
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.secret_hash, _digest(parts[2])):
        return None
    sites = session.scalars(sa.select(ApiKeySiteRow.site_id).where(ApiKeySiteRow.key_id == row.id)).all()
    return Caller(row.id, frozenset(sites))


def grant_site(session: Session, caller: Caller, site_id: str) -> None:
    """Give the caller's key a site it created."""
    if site_id not in caller.sites:
        session.add(ApiKeySiteRow(key_id=caller.key_id, site_id=site_id))
