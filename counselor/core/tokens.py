"""Random bearer tokens (login sessions, personal links): the database keeps only a hash."""

from __future__ import annotations

import hashlib
import secrets


def token_hash(token: str) -> str:
    """The stored form of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(nbytes: int) -> tuple[str, str]:
    """A fresh URL-safe token of ``nbytes`` random bytes, and its stored form."""
    token = secrets.token_urlsafe(nbytes)
    return token, token_hash(token)
