"""The partner's portal session: its own signed cookie, scoped to /p, apart from the counselor's.

A portal session is one partner of one case. A landing page's button (home link, a mail's
sign-in link, or a per-assignment link from before homes) swaps the token for this cookie
and redirects to a URL without the token. The server-side record says which partner, and
what opened it: a per-assignment link (its revocation or expiry ends the session) or the
home (a reissued or revoked home link ends it). The cookie is honoured only while its record
exists: "Forget this device" deletes the record, so a copy of the cookie stops working at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from sqlalchemy import Boolean, bindparam, case, delete, event, false, func, select, update
from sqlalchemy.orm import Session

from counselor.core.cookies import SignedCookie
from counselor.core.models import aware, utcnow
from counselor.core.tokens import token_hash
from counselor.extensions import core_execute, db, request_session
from counselor.portal.models import PortalSessionRecord

COOKIE = "counselor_portal"
COOKIE_PATH = "/p"
#: a portal session lasts at most this long; the partner opens their link again after it
MAX_AGE_SECONDS = 12 * 3600
SIGNED = SignedCookie(COOKIE, "counselor.portal", MAX_AGE_SECONDS, path=COOKIE_PATH)
#: after this long without a portal request, a link's PIN is asked for again
PIN_IDLE = timedelta(minutes=15)
#: last_seen_at is written at most this often (not on every autosave)
_TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class PortalSession:
    """One portal session: its id, its partner and what opened it (from the server's record)."""

    sid: str
    partner_id: uuid.UUID
    #: the per-assignment link that opened it (None: the home or a mail's sign-in link)
    link_id: uuid.UUID | None = None
    #: what the session remembers of the home link (see counselor.cases.homes.generation)
    home_generation: str | None = None
    #: the assignment the short legacy URLs act on
    focus_assignment_id: uuid.UUID | None = None
    #: the partner's PIN (if they have one) was entered here and the session has not idled since
    pin_ok: bool = False
    #: what reading it wrote to the record (the idle PIN reset, the touch; empty: nothing):
    #: the caller commits that, or leaves it to the request's own commit (``ride_along``)
    wrote: dict = field(default_factory=dict, compare=False)
    #: ``wrote`` is not written yet: the request's own statement carries it (``to_carry``)
    unwritten: bool = field(default=False, compare=False)

    @property
    def csrf_token(self) -> str:
        """Token for portal forms, bound to this portal session (not to the counselor's)."""
        key = current_app._get_current_object().config["SECRET_KEY"].encode()  # see keyring()
        # hmac.digest: the same HMAC in one call into OpenSSL (checked on every portal POST)
        return hmac.digest(key, f"portal-csrf|{self.sid}".encode(), "sha256").hex()

    def check_csrf(self, sent: str | None) -> bool:
        """Constant-time check of a submitted portal CSRF token."""
        return bool(sent) and hmac.compare_digest(sent, self.csrf_token)


def _sid_hash(sid: str) -> str:
    return token_hash(sid)


def landing_csrf_token(token_hash: str) -> str:
    """CSRF token of the landing page's button: no cookie exists yet, so it is bound to the
    link (only someone who holds the link, or was shown its page, can send it)."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"portal-landing|{token_hash}".encode(), hashlib.sha256).hexdigest()


def start(
    response,
    partner_id: uuid.UUID,
    *,
    link_id: uuid.UUID | None = None,
    home_generation: str | None = None,
    focus_assignment_id: uuid.UUID | None = None,
) -> PortalSession:
    """Record a fresh portal session of a partner (flushed) and set its cookie on ``response``."""
    ps = PortalSession(
        secrets.token_urlsafe(32), partner_id, link_id, home_generation, focus_assignment_id
    )
    # Sessions of this partner past their age are dead anyway: drop them as a new one starts.
    db.session.execute(
        delete(PortalSessionRecord).where(
            PortalSessionRecord.partner_id == partner_id,
            PortalSessionRecord.created_at < utcnow() - timedelta(seconds=MAX_AGE_SECONDS),
        )
    )
    db.session.add(
        PortalSessionRecord(
            sid_hash=_sid_hash(ps.sid),
            partner_id=partner_id,
            link_id=link_id,
            home_generation=home_generation,
            focus_assignment_id=focus_assignment_id,
        )
    )
    db.session.flush()
    SIGNED.set(response, {"s": ps.sid})
    return ps


def cookie_sid() -> str | None:
    """The session id in the request's portal cookie, if its signature and age hold."""
    data = SIGNED.read("s")
    return None if data is None else data["s"]


_RECORD = PortalSessionRecord.__table__


def record_columns() -> tuple:
    """The columns of a session's record that ``from_record`` reads (plain Core columns: every
    portal request reads its record, and the ORM's object bookkeeping is not needed for it)."""
    c = _RECORD.c
    return (
        c.partner_id,
        c.link_id,
        c.home_generation,
        c.focus_assignment_id,
        c.created_at,
        c.pin_ok,
        c.last_seen_at,
    )


#: the record of a session; every statement on it is executed with ``by_sid(sid)`` (the
#: parameter is not named after the column: an UPDATE reserves that name for its SET clause)
BY_SID = _RECORD.c.sid_hash == bindparam("record_key")


def by_sid(sid: str) -> dict[str, str]:
    """The parameters of ``BY_SID``."""
    return {"record_key": _sid_hash(sid)}


def from_record(sid: str, record, write: bool = True) -> PortalSession | None:
    """The portal session of a record row's mapping (``record_columns``, read by key as
    ``Row._mapping`` gives them: see ``portal.context._session_of``), if the record exists and
    is not past its age; the idle PIN reset and the touch are written here (not committed),
    or with ``write`` False left for the request's own write to carry (``to_carry``)."""
    now = utcnow()
    if record is None:
        return None
    created_at = aware(record["created_at"])
    if now - created_at > timedelta(seconds=MAX_AGE_SECONDS):
        return None
    seen = aware(record["last_seen_at"]) if record["last_seen_at"] else created_at
    changes: dict = {}
    pin_ok = record["pin_ok"]
    if pin_ok and now - seen > PIN_IDLE:
        # idle too long: whoever holds the phone now shows the PIN again
        pin_ok = changes["pin_ok"] = False
    if now - seen > _TOUCH_EVERY:
        changes["last_seen_at"] = now
    if changes and write:
        _write(sid, changes)
    return PortalSession(
        sid,
        record["partner_id"],
        record["link_id"],
        record["home_generation"],
        record["focus_assignment_id"],
        pin_ok=pin_ok,
        wrote=changes,
        unwritten=bool(changes) and not write,
    )


def _write(sid: str, changes: dict) -> None:
    """The record's idle bookkeeping (``from_record``'s changes), by one of two statements
    made once: a new UPDATE construct each time cost as much as the write (its cache key)."""
    keys = tuple(changes)
    statement = _WRITES.get(keys)
    if statement is None:
        statement = _WRITES[keys] = (
            update(_RECORD)
            .where(BY_SID)
            .values({k: bindparam(f"new_{k}", type_=_RECORD.c[k].type) for k in keys})
        )
    core_execute(statement, {**by_sid(sid), **{f"new_{k}": v for k, v in changes.items()}})


#: ``_write``'s statements by the columns they set
_WRITES: dict[tuple, object] = {}


#: ``db.session.info``: the portal session whose record write (``PortalSession.wrote``) rides
#: on the request's transaction, and whether that write is in the open transaction now
_RIDING = "portal_session_riding"


def ride_along(ps: PortalSession) -> None:
    """Leave the record's write that reading ``ps`` made (the idle PIN reset, the touch) in
    the request's open transaction, committed with the request's own work, instead of
    committing it at once: a save or a submit that read its homework under the assignment's
    lock with the session keeps that read and that lock (a commit now would end the lock,
    and the homework would be read again under a new one).

    The write is never lost: ``settle`` writes it again in a transaction of its own when the
    request did not commit it (a refusal, a rollback before the commit). A write not made yet
    (``PortalSession.unwritten``) is carried by the request's own statement (``to_carry``),
    or written by ``settle`` if none did."""
    request_session().info[_RIDING] = [ps, not ps.unwritten]


#: PostgreSQL: the record's idle bookkeeping (``from_record``'s changes) as a data-modifying
#: CTE of a request's own write (``to_carry``'s parameters): the PIN reset when
#: ``touch_pin_reset``, the touch when ``touch_seen`` is set; made once
CARRIED_WRITE = (
    update(_RECORD)
    .where(_RECORD.c.sid_hash == bindparam("touch_key"))
    .values(
        pin_ok=case((bindparam("touch_pin_reset", type_=Boolean), false()), else_=_RECORD.c.pin_ok),
        last_seen_at=func.coalesce(
            bindparam("touch_seen", type_=_RECORD.c.last_seen_at.type), _RECORD.c.last_seen_at
        ),
    )
    .returning(_RECORD.c.sid_hash)
)


def to_carry() -> dict | None:
    """The parameters of ``CARRIED_WRITE`` for the riding write when it is not in the open
    transaction (not made yet, or rolled back), else None. A statement that carries it calls
    ``carried`` once it ran."""
    riding = request_session().info.get(_RIDING)
    if riding is None or riding[1]:
        return None
    wrote = riding[0].wrote
    return {
        "touch_key": _sid_hash(riding[0].sid),
        "touch_pin_reset": "pin_ok" in wrote,
        "touch_seen": wrote.get("last_seen_at"),
    }


def carried() -> None:
    """The request's own statement wrote the riding write (``to_carry``): it commits with it."""
    request_session().info[_RIDING][1] = True


def committed() -> None:
    """The request's own statement, run alone (its own transaction: ``core.pool.statements_alone``),
    carried the riding write (``to_carry``) and committed it: nothing rides any more (a
    statement carries it no more, ``settle`` writes nothing)."""
    request_session().info.pop(_RIDING, None)


def settle() -> None:
    """At the end of a request: if a riding write was not committed, roll back what the
    request left uncommitted (it was not meant to be kept) and commit the write alone, as
    reading the session committed it before."""
    riding = request_session().info.get(_RIDING)  # on every portal request
    if riding is None:
        return
    ps = riding[0]
    db.session.rollback()
    _write(ps.sid, ps.wrote)
    db.session.info[_RIDING] = [ps, True]
    db.session.commit()


@event.listens_for(Session, "after_commit")
def _riding_committed(session: Session) -> None:
    riding = session.info.get(_RIDING)
    if riding is not None and riding[1]:
        del session.info[_RIDING]


@event.listens_for(Session, "after_rollback")
def _riding_rolled_back(session: Session) -> None:
    riding = session.info.get(_RIDING)
    if riding is not None:
        riding[1] = False  # no longer in the transaction: ``settle`` writes it again


def load() -> PortalSession | None:
    """The portal session named by the request's cookie, if its signature, age and record hold.

    Whether the link that opened it still works is the caller's check (portal.context, which
    reads the record together with the partner instead).
    """
    sid = cookie_sid()
    if sid is None:
        return None
    record = db.session.execute(select(*record_columns()).where(BY_SID), by_sid(sid)).first()
    return from_record(sid, None if record is None else record._mapping)


def focus(ps: PortalSession, assignment_id: uuid.UUID) -> None:
    """Remember the assignment this session opened last (what the short legacy URLs act on)."""
    if ps.focus_assignment_id != assignment_id:
        core_execute(
            update(_RECORD).where(BY_SID).values(focus_assignment_id=assignment_id),
            by_sid(ps.sid),
        )


def pin_passed(ps: PortalSession) -> None:
    """Mark this portal session as past the PIN (committed with the route's transaction)."""
    db.session.execute(
        update(_RECORD).where(BY_SID).values(pin_ok=True, last_seen_at=utcnow()), by_sid(ps.sid)
    )


def end_others(partner_id: uuid.UUID, keep: PortalSession) -> None:
    """End every other portal session of a partner (their PIN was just set here)."""
    db.session.execute(
        delete(PortalSessionRecord).where(
            PortalSessionRecord.partner_id == partner_id,
            PortalSessionRecord.sid_hash != _sid_hash(keep.sid),
        )
    )


def end_quietly(ps: PortalSession) -> None:
    """End the portal session on the server only (a beacon's answer sets no cookie)."""
    db.session.execute(delete(_RECORD).where(BY_SID), by_sid(ps.sid))


def end(response, ps: PortalSession) -> None:
    """End the portal session on the server (a copied cookie stops working) and in the browser."""
    end_quietly(ps)
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
