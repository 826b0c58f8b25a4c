"""Show a freshly minted token once, after a redirect (post-redirect-get).

A reload of the page that shows a new link must not mint another (that would silently kill
the link just sent). The raw token rides once, encrypted and bound to a random key and to
the row it belongs to, in the counselor's session to the GET, which takes it out.
"""

from __future__ import annotations

import secrets

from flask import session

from counselor.core.crypto import keyring

_SHOWN = "shown_link"


def _aad(key: str, ref: str) -> bytes:
    return f"shown-link|{key}|{ref}".encode()


def hold(token: str, ref) -> str:
    """Keep ``token`` for one showing; returns the key the GET must name."""
    key = secrets.token_urlsafe(12)
    blob = keyring().encrypt(token, _aad(key, str(ref)))
    session[_SHOWN] = {"k": key, "l": str(ref), "t": blob.hex()}
    return key


def held_ref(key: str) -> str | None:
    """Which row the token held under ``key`` belongs to (None: nothing held, or shown)."""
    held = session.get(_SHOWN)
    return held.get("l") if isinstance(held, dict) and held.get("k") == key else None


def take(key: str, ref) -> str | None:
    """The held token, once, if it was held under ``key`` for ``ref``; else None."""
    held = session.get(_SHOWN)
    if not isinstance(held, dict) or held.get("k") != key:
        return None
    session.pop(_SHOWN)
    if held.get("l") != str(ref):
        return None
    return keyring().decrypt(bytes.fromhex(held["t"]), _aad(key, str(ref)))
