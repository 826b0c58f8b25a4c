"""Promises switched off, in this process only, to measure what they cost under load.

    BENCH_PROMISE_OFF=audit,encryption,session   (bench/load_wsgi.py; bench/load.py --promises-off)

An experiment, never a way to run the app: nothing in ``counselor/`` knows of these switches.
``apply`` replaces, in the current process, the functions that do a promise's work:

- ``audit``: no audit event is written. ``audit.record``, ``by_partner`` and ``record_now`` do
  nothing; a read page's statement that carries its event (``audit.ReadWithEvent``) runs its
  plain statement; ``audit.with_event(change)`` is ``change`` itself (its RETURNING and its
  rowcount, what the callers read) and ``audit.events_for`` a SELECT that PostgreSQL never
  runs (a CTE nothing refers to), so the statements built at import time (the portal's save
  and submit, the outbox's insert) write no event. Must run before ``counselor.portal.services``,
  ``counselor.portal.submitting`` and ``counselor.mail.services`` are imported (``apply``
  refuses otherwise).
- ``encryption``: no AES-GCM after warm-up. Every opening (``crypto._unseal_all``) goes through
  a memo of opened values keyed by the sealed bytes, filled at a value's first opening; a
  value sealed here (``KeyRing.encrypt``) is the plaintext behind a marker byte, which opens
  by slicing in any process (and is remembered). Those values are not ciphertext: a database
  an ablated app wrote to must not be read by the real app (bench/load.py gives the ablated
  server partners of its own for the measures that write answers).
- ``session``: a resolved identity remembered by the cookie's text, after its first request.
  Counselor: ``load_login_session`` (the login session's row, its timeouts, its touch) is
  read once per token, then answered from the memo. Portal: the cookie's signature
  (``portal_session.cookie_sid``), the session id's hash (``by_sid``) and the portal CSRF
  token's HMAC once per session; the record's age, idle and PIN checks and its touch are
  skipped (``from_record``) from a session's first request on (a submit's session, new at
  each submit, still has its cookie's signature, id hash and CSRF token made once). The
  record itself stays a part of the portal's one read of the partner, their links and their
  homework (one statement, see ``portal.context``): a session without its record is still
  refused, and so is a request without a valid cookie (a memo holds only what was resolved).
"""

from __future__ import annotations

import sys
import uuid

SWITCHES = ("audit", "encryption", "session")

#: modules that build audit statements at import time (``audit.with_event``/``events_for``)
_BUILT_AT_IMPORT = (
    "counselor.portal.services",
    "counselor.portal.submitting",
    "counselor.mail.services",
)

#: a value sealed by an ablated process: this byte, then the plaintext
FAKE_FORMAT = b"\xfe"
#: the encryption memo's size at which it is emptied (an autosave seals a new value each save)
_MEMO_LIMIT = 50_000


def parse(text: str) -> tuple[str, ...]:
    """The switches named in ``text`` (comma-separated); unknown names are refused."""
    names = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = set(names) - set(SWITCHES)
    if unknown:
        raise SystemExit(f"BENCH_PROMISE_OFF: unknown switch(es) {sorted(unknown)}: {SWITCHES}")
    return names


def apply(names: tuple[str, ...] | list[str]) -> None:
    """Switch off each promise of ``names`` in this process (see the module)."""
    for name in names:
        {"audit": audit_off, "encryption": encryption_off, "session": session_off}[name]()


def audit_off() -> None:
    """No audit event written at all (see the module)."""
    early = [m for m in _BUILT_AT_IMPORT if m in sys.modules]
    if early:
        raise RuntimeError(f"audit_off must run before {early} are imported")
    from sqlalchemy import false, literal_column, select

    from counselor.core import audit

    def nothing(*args, **kwargs) -> None:
        return None

    audit.record = audit.by_partner = audit.record_now = nothing
    audit.with_event = lambda change: change.execution_options(preserve_rowcount=True)
    audit.events_for = lambda changed: (
        select(literal_column("1").label("no_event")).select_from(changed).where(false())
    )
    audit.ReadWithEvent.rows = lambda self, parameters, *event: self.plain.named(parameters)


#: the encryption switch's memo: sealed bytes -> opened bytes
OPENED: dict[bytes, bytes] = {}
#: how many values the real AES-GCM opened, and how many were sealed (checked by the tests)
COUNTS = {"opened": 0, "sealed": 0}


def plain_answers(app, assignment_ids: list) -> None:
    """Store the responses of ``assignment_ids`` (seeded with real encryption) as a process
    with ``encryption`` off seals them (``FAKE_FORMAT``), so that an ablated server opens a
    submit's answers without AES-GCM although it sees each response once. Only for responses
    no real server reads afterwards."""
    from sqlalchemy import select, update

    from counselor.extensions import db
    from counselor.questionnaires.models import Response

    table = Response.__table__
    with app.app_context():
        ids = [uuid.UUID(str(i)) for i in assignment_ids]
        plain = [
            (response.id, response.answers_json)
            for response in db.session.scalars(
                select(Response).where(Response.assignment_id.in_(ids))
            )
        ]
        for response_id, text in plain:
            if text is not None:
                # Core, not the ORM: the revision (its version counter) stays what the pool holds
                db.session.execute(
                    update(table)
                    .where(table.c.id == response_id)
                    .values(answers_json_sealed=FAKE_FORMAT + text.encode())
                )
        db.session.commit()


def encryption_off() -> None:
    """Sealing and opening sealed columns without AES-GCM after warm-up (see the module)."""
    from counselor.core import crypto

    real = crypto._unseal_all
    memo = OPENED

    def unseal_all(by_id, blobs, aads) -> list:
        blobs = list(blobs)
        opened = list(map(memo.get, blobs))
        if None not in opened:
            return opened
        aads = list(aads)
        if len(blobs) != len(aads):
            raise ValueError("one associated data for each sealed value")
        if len(memo) > _MEMO_LIMIT:
            memo.clear()
        for i, blob in enumerate(blobs):
            if opened[i] is not None or blob is None:
                continue
            blob = bytes(blob)
            if blob[:1] == FAKE_FORMAT:
                plain = blob[1:]
            else:
                plain = real(by_id, (blob,), (aads[i],))[0]
                COUNTS["opened"] += 1
            memo[blob] = opened[i] = plain
        return opened

    def encrypt(self, plaintext, aad: bytes) -> bytes:
        data = plaintext if isinstance(plaintext, bytes) else plaintext.encode()
        COUNTS["sealed"] += 1
        blob = FAKE_FORMAT + data
        memo[blob] = data
        return blob

    crypto._unseal_all = unseal_all
    crypto.KeyRing.encrypt = encrypt


def session_off() -> None:
    """A resolved session remembered by its cookie's text (see the module)."""
    from flask import request

    from counselor.auth import services as auth_services
    from counselor.portal import session as portal_session

    real_login = auth_services.load_login_session
    signed_in: dict = {}

    def load_login_session(token: str):
        found = signed_in.get(token)
        if found is None:
            found = real_login(token)
            if found is not None:
                signed_in[token] = found
        return found

    auth_services.load_login_session = load_login_session

    real_sid, sids = portal_session.cookie_sid, {}

    def cookie_sid() -> str | None:
        raw = request.cookies.get(portal_session.COOKIE)
        sid = sids.get(raw)
        if sid is None:
            sid = real_sid()
            if sid is not None:
                sids[raw] = sid
        return sid

    real_by_sid, keys = portal_session.by_sid, {}

    def by_sid(sid: str) -> dict[str, str]:
        found = keys.get(sid)
        if found is None:
            found = keys[sid] = real_by_sid(sid)
        return dict(found)

    def from_record(sid: str, record, write: bool = True):
        if record is None:
            return None
        return portal_session.PortalSession(
            sid,
            record["partner_id"],
            record["link_id"],
            record["home_generation"],
            record["focus_assignment_id"],
            pin_ok=record["pin_ok"],
        )

    real_csrf, tokens = portal_session.PortalSession.csrf_token.fget, {}

    def csrf_token(self) -> str:
        found = tokens.get(self.sid)
        if found is None:
            found = tokens[self.sid] = real_csrf(self)
        return found

    portal_session.cookie_sid = cookie_sid
    portal_session.by_sid = by_sid
    portal_session.from_record = from_record
    portal_session.PortalSession.csrf_token = property(csrf_token)
