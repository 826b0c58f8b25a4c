"""The PIN a partner may set on their pages: set it, check it, and slow down wrong guesses."""

from __future__ import annotations

import re
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from counselor.cases.models import PartnerHome
from counselor.core import audit
from counselor.core.models import aware, utcnow
from counselor.portal.context import PortalContext

_pin_hasher = PasswordHasher()
PIN_PATTERN = re.compile(r"[0-9]{4,8}")
#: wrong PINs allowed before each further wrong one makes the partner wait
PIN_FREE_TRIES = 3
#: the longest wait after many wrong PINs
PIN_MAX_WAIT = timedelta(hours=1)


class PinWait(Exception):
    """Too many wrong PINs: the next try is possible only after ``minutes``."""

    def __init__(self, minutes: int):
        super().__init__(minutes)
        self.minutes = minutes


def set_pin(ctx: PortalContext, pin: str) -> None:
    """Protect the partner's portal with a 4–8 digit PIN (argon2 hash); ValueError if malformed."""
    if not PIN_PATTERN.fullmatch(pin or ""):
        raise ValueError("A PIN is 4 to 8 digits, nothing else.")
    ctx.home.pin_hash = _pin_hasher.hash(pin)
    ctx.home.pin_failures = 0
    ctx.home.pin_blocked_until = None
    audit.by_partner(ctx.partner_id, "portal.pin_set")


def _wait_minutes(link: PartnerHome) -> int:
    left = aware(link.pin_blocked_until) - utcnow() if link.pin_blocked_until else timedelta(0)
    return max(1, -(-int(left.total_seconds()) // 60)) if left > timedelta(0) else 0


def check_pin(ctx: PortalContext, pin: str) -> bool:
    """Whether ``pin`` is the partner's PIN; wrong ones are counted and slow further tries.

    Raises PinWait while a wait from earlier wrong PINs runs (the PIN is not even checked).
    """
    link = ctx.home
    wait = _wait_minutes(link)
    if wait:
        raise PinWait(wait)
    try:
        ok = bool(link.pin_hash) and _pin_hasher.verify(link.pin_hash, pin or "")
    except (VerificationError, InvalidHashError):
        ok = False
    if ok:
        link.pin_failures = 0
        link.pin_blocked_until = None
        audit.by_partner(ctx.partner_id, "portal.pin_ok")
        return True
    link.pin_failures = (link.pin_failures or 0) + 1
    over = link.pin_failures - PIN_FREE_TRIES
    if over > 0:
        link.pin_blocked_until = utcnow() + min(timedelta(minutes=2 ** (over - 1)), PIN_MAX_WAIT)
    audit.by_partner(ctx.partner_id, "portal.pin_wrong")
    return False
