"""Who a portal request is for: the partner of a portal session (resolved from the link, home
or sign-in mail that opened it), one assignment of theirs, and the record of their opening a
link, a home or a homework."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.orm import joinedload

from counselor.cases import homes
from counselor.cases.models import Case, Partner, PartnerHome
from counselor.core import audit
from counselor.core.locking import locks_in_reads, read_locked, take_lock
from counselor.core.models import aware, utcnow
from counselor.core.pool import in_transactions, statements_alone
from counselor.core.precompiled import Precompiled
from counselor.core.tokens import token_hash
from counselor.extensions import core_execute, db, session_connection
from counselor.portal import session as portal_session
from counselor.portal.models import PortalSessionRecord
from counselor.questionnaires import engine
from counselor.questionnaires.models import (
    Assignment,
    Link,
    Questionnaire,
    QuestionnaireVersion,
    Response,
    VersionRow,
)


class PortalContext:
    """One partner of one case, resolved from the portal session: what every page works with.

    Features add pages on it (``ctx.partner``, ``ctx.case``); everything they show a partner
    still goes through the one partner filter (counselor.reveal.services.view_for_partner).
    A request resolves the session from plain columns (``partner_id``, ``case_id``,
    ``has_pin``); the partner, their case and home are loaded as objects, in one statement,
    only when a page asks for them (an autosave never does).
    """

    def __init__(
        self,
        partner: Partner | None = None,
        home: PartnerHome | None = None,
        *,
        partner_id: uuid.UUID | None = None,
        case_id: uuid.UUID | None = None,
        has_pin: bool = False,
    ):
        self._partner = partner
        self._home = home
        self.partner_id: uuid.UUID = partner.id if partner is not None else partner_id
        self.case_id: uuid.UUID = partner.case_id if partner is not None else case_id
        #: the partner had a PIN when the request began (``home.pin_hash`` is what holds now)
        self.has_pin = bool(home.pin_hash) if home is not None else has_pin

    def _load(self) -> None:
        partner, home = db.session.execute(
            select(Partner, PartnerHome)
            .options(joinedload(Partner.case))
            .outerjoin(PartnerHome, PartnerHome.partner_id == Partner.id)
            .where(Partner.id == self.partner_id)
        ).one()
        self._partner = partner
        self._home = self._home or home

    @property
    def partner(self) -> Partner:
        if self._partner is None:
            self._load()
        return self._partner

    @property
    def home(self) -> PartnerHome:
        if self._home is None:
            if self._partner is None:
                self._load()
            self._home = self._home or homes.home_of(self._partner)
        return self._home

    @property
    def case(self) -> Case:
        return self.partner.case


@dataclass
class AssignmentRow:
    """What an answer save or a submit decides on of an assignment, read as plain columns
    (no object)."""

    id: uuid.UUID
    case_id: uuid.UUID
    due_on: date | None
    locked: bool
    released_at: datetime | None
    sections: list[str] | None
    version: VersionRow
    #: the questionnaire's kind (``Assignment.kind``: the gates ask it)
    kind: str

    @property
    def definition(self) -> engine.Definition:
        return self.version.definition.only(self.sections)


@dataclass
class ResponseRow:
    """What an answer save or a submit reads and writes of a response, as plain columns (no
    object)."""

    id: uuid.UUID
    partner_id: uuid.UUID
    status: str
    revision: int
    saved_at: datetime | None
    answers_json_sealed: bytes | None
    #: set by a submit (not read: a submit needs only what it writes)
    submitted_at: datetime | None = None
    notice_due: bool = False

    @property
    def answers(self) -> dict:
        """The decrypted answers, opened as ``Response.answers`` opens them."""
        return Response.load_answers(Response.answers_json.open(self.answers_json_sealed, self.id))


@dataclass
class PartnerContext:
    """One assignment of the session's partner: what the homework pages work with."""

    portal: PortalContext
    #: objects, or plain rows for an answer save and a submit (``assignment_context(...,
    #: plain=True)``)
    assignment: Assignment | AssignmentRow
    response: Response | ResponseRow
    #: read under the assignment's row lock (``assignment_context(..., lock=True)``)
    locked: bool = False
    #: read without the lock by a statement alone, no transaction open (a PostgreSQL submit:
    #: ``resolve_changing``), until the request goes back to a transaction
    alone: bool = False

    @property
    def definition(self) -> engine.Definition:
        return self.assignment.definition

    def objects(self) -> PartnerContext:
        """This context with the assignment and response as objects, read as they are now
        (a plain read's rows, for the rare step that needs more, such as a stop's alert)."""
        if isinstance(self.assignment, Assignment):
            return self
        loaded = assignment_context(self.portal, self.assignment.id)
        return replace(loaded, locked=self.locked)

    @property
    def partner(self) -> Partner:
        return self.portal.partner

    @property
    def partner_id(self) -> uuid.UUID:
        return self.portal.partner_id

    @property
    def case(self) -> Case:
        return self.portal.partner.case

    @property
    def home(self) -> PartnerHome:
        return self.portal.home


@dataclass(frozen=True)
class _Door:
    """What decides whether a link or home link still works (plain columns of its row)."""

    token_hash: str | None
    expires_at: datetime | None
    revoked_at: datetime | None


def _valid(link: Link | _Door | None) -> bool:
    return link is not None and link.revoked_at is None and aware(link.expires_at) > utcnow()


def link_for_token(token: str) -> Link | None:
    """The working per-assignment link for a raw token; None for unknown, expired and revoked."""
    if not token or len(token) > 128:
        return None
    link = db.session.scalar(select(Link).where(Link.token_hash == token_hash(token)))
    return link if _valid(link) else None


def _source_works(ps, home: _Door | None, link: _Door | None) -> bool:
    """Whether what opened the session still works (else the session is over)."""
    if ps.link_id is not None:
        return _valid(link)
    gen = ps.home_generation or ""
    if home is None:
        return False  # a home link or a mail opened it, and the partner has no home (any more)
    if gen.startswith(homes.FROM_HOME):
        return homes.home_link_state(home) == "active" and gen == homes.generation(
            home, homes.FROM_HOME
        )
    if gen.startswith(homes.FROM_MAIL):
        # a mail's session ends when the counselor revokes or reissues the home link
        return home.revoked_at is None and gen == homes.generation(home, homes.FROM_MAIL)
    return False


_RECORD = PortalSessionRecord.__table__
_PARTNER = Partner.__table__
_HOME = PartnerHome.__table__
_LINK = Link.__table__


def _session_columns() -> tuple:
    h, link, partner = _HOME.c, _LINK.c, _PARTNER.c
    return (
        *portal_session.record_columns(),
        partner.case_id,
        # whether the outer joins found a home and a link, as booleans: only tested, and a
        # UUID column is parsed into a uuid.UUID (SQLite's text, PostgreSQL's bytes)
        h.partner_id.is_not(None).label("home_of"),
        h.token_hash.label("home_token_hash"),
        h.expires_at.label("home_expires_at"),
        h.revoked_at.label("home_revoked_at"),
        h.pin_hash,
        link.id.is_not(None).label("link_found"),
        link.expires_at.label("link_expires_at"),
        link.revoked_at.label("link_revoked_at"),
    )


def _session_from():
    h, link, partner = _HOME.c, _LINK.c, _PARTNER.c
    return (
        _RECORD.join(_PARTNER, partner.id == _RECORD.c.partner_id)
        .outerjoin(_HOME, h.partner_id == partner.id)
        .outerjoin(_LINK, and_(link.id == _RECORD.c.link_id, link.partner_id == partner.id))
    )


#: made once: a statement object reused keeps its cache key, so a request neither builds it
#: nor walks it again
_RESOLVE = select(*_session_columns()).select_from(_session_from()).where(portal_session.BY_SID)


def _session_of(
    sid: str, row, write: bool = True
) -> tuple[portal_session.PortalSession, PortalContext] | None:
    """The portal session and partner of a row of ``_session_columns`` (None: the record is
    missing or too old, or what opened the session no longer works).

    ``row`` is the row's mapping (``Row._mapping``) or None: a Row's attribute look-up by
    name first fails as an ordinary attribute (an AttributeError made and its message
    formatted) before it finds the column; a mapping's look-up by key does not, and a
    save reads about thirty columns this way.
    """
    ps = portal_session.from_record(sid, row, write)
    if ps is None:
        return None
    home = link = None
    if row["home_of"]:
        home = _Door(row["home_token_hash"], row["home_expires_at"], row["home_revoked_at"])
    if row["link_found"]:
        link = _Door(None, row["link_expires_at"], row["link_revoked_at"])
    if not _source_works(ps, home, link):
        return None
    return ps, PortalContext(
        partner_id=ps.partner_id, case_id=row["case_id"], has_pin=bool(row["pin_hash"])
    )


def _columns(row):
    """A result row's mapping of its columns by name (see ``_session_of``), None for none."""
    return None if row is None else row._mapping


def resolve(sid: str) -> tuple[portal_session.PortalSession, PortalContext] | None:
    """The portal session of a session id and its partner, if the record holds and what opened
    the session still works (else None).

    One statement of plain columns on every portal request: the session's record, the
    partner's case, their home link and PIN, and the link that opened the session (none when
    the home or a mail's sign-in link did).
    """
    return _session_of(sid, _columns(core_execute(_RESOLVE, portal_session.by_sid(sid)).first()))


# One statement for what every homework page needs: assignment, response, the version's
# id and checksum (its parsed definition is cached per process, so the JSON text is read
# only when this process has not parsed that version yet) and its questionnaire (whose kind
# the gates ask: consent before an intake). Made once, like _RESOLVE.
_ASSIGNMENT = (
    select(Assignment, Response)
    .join(Response, Response.assignment_id == Assignment.id)
    .options(
        joinedload(Assignment.version)
        .defer(QuestionnaireVersion.definition_json)
        .joinedload(QuestionnaireVersion.questionnaire)
    )
    .where(
        Assignment.id == bindparam("assignment_id"),
        Assignment.case_id == bindparam("case_id"),
        Response.partner_id == bindparam("partner_id"),
    )
)
#: the same, read under the lock: anything this session loaded before is read again
_ASSIGNMENT_LOCKED = _ASSIGNMENT.execution_options(populate_existing=True)

_A, _R, _Q = Assignment.__table__, Response.__table__, Questionnaire.__table__
_VERSION = QuestionnaireVersion.__table__
#: what an answer save or a submit decides on, as plain columns: loading objects cost more
#: than the rest of the read (the same rows as _ASSIGNMENT)
_PLAIN_COLUMNS = (
    _A.c.id,
    _A.c.due_on,
    _A.c.locked,
    _A.c.released_at,
    _A.c.sections,
    _VERSION.c.id.label("version_id"),
    _VERSION.c.checksum,
    _Q.c.kind,
    _R.c.id.label("response_id"),
    _R.c.status,
    _R.c.revision,
    _R.c.saved_at,
    _R.c.answers_json_sealed,
)


def _with_version(assignment_and_response):
    return assignment_and_response.join(_VERSION, _VERSION.c.id == _A.c.version_id).join(
        _Q, _Q.c.id == _VERSION.c.questionnaire_id
    )


#: made once, like _ASSIGNMENT
_PLAIN = (
    select(*_PLAIN_COLUMNS)
    .select_from(_with_version(_A.join(_R, _R.c.assignment_id == _A.c.id)))
    .where(
        _A.c.id == bindparam("assignment_id"),
        _A.c.case_id == bindparam("case_id"),
        _R.c.partner_id == bindparam("partner_id"),
    )
)
#: the same, read under the assignment's row lock with the partner's response locked too: on
#: PostgreSQL one statement that waits for the lock and returns both rows as they are now
#: (``core.locking.read_locked``)
_PLAIN_LOCKED = _PLAIN.with_for_update(of=[_A, _R])


def _resolve_changing(lock: bool = True):
    """An answer save's or a submit's whole read, one statement: the portal session's (as
    _RESOLVE's) with the partner's assignment the URL names (None: the one the session opened
    last) and their response, under the assignment's row lock, as _PLAIN_LOCKED reads them
    (without ``lock``: as they are, for a submit that checks them again as it writes)."""
    joined = _with_version(
        _session_from()
        .join(
            _A,
            and_(
                _A.c.id
                == func.coalesce(
                    bindparam("assignment_id", type_=_A.c.id.type),
                    _RECORD.c.focus_assignment_id,
                ),
                _A.c.case_id == _PARTNER.c.case_id,
            ),
        )
        .join(_R, and_(_R.c.assignment_id == _A.c.id, _R.c.partner_id == _PARTNER.c.id))
    )
    statement = select(*_session_columns(), *_PLAIN_COLUMNS).select_from(joined)
    statement = statement.where(portal_session.BY_SID)
    return statement.with_for_update(of=[_A, _R]) if lock else statement


#: made once, like _RESOLVE, and compiled once: an answer save's read and a submit's; their
#: rows carry the sealed answers, a few KB that PostgreSQL's binary format sends as they are
#: (its text format sends them as hex, twice as long)
_RESOLVE_CHANGING = Precompiled(_resolve_changing(), binary_results=True)
#: the same without the lock: a PostgreSQL submit's read, its statement alone
#: (``resolve_changing(..., submit=True)``)
_RESOLVE_SUBMITTING = Precompiled(_resolve_changing(lock=False), binary_results=True)


def resolve_changing(
    sid: str, assignment_id: uuid.UUID | None, submit: bool = False
) -> tuple[portal_session.PortalSession, PortalContext, PartnerContext] | None:
    """The portal session of a session id, its partner and their homework ``assignment_id``
    (None: the one the session opened last) as plain rows read under the assignment's lock,
    in one statement (``resolve`` and ``assignment_context(..., lock=True, plain=True)``'s
    reads), for a request that changes answers; for a ``submit`` on PostgreSQL the session's
    idle bookkeeping is left to the submit's statement (``portal_session.to_carry``).

    A ``submit`` on PostgreSQL reads them without the lock, its statement alone (no
    transaction: ``core.pool.statements_alone``): the submit checks them again in the one
    statement that writes it, or goes back to a transaction and this locked read
    (``PartnerContext.alone``; ``portal.submitting.submit``).

    None when the session does not hold, there is no such homework of this partner, or the
    lock cannot be taken by a read now (on SQLite, inside a transaction already open): the
    caller then reads the session and the homework apart, in a transaction, as others do.
    """
    if not locks_in_reads():
        return None
    connection = session_connection()
    postgresql = connection.dialect.name == "postgresql"
    alone = submit and postgresql and statements_alone(connection)
    parameters = {**portal_session.by_sid(sid), "assignment_id": assignment_id}
    row = (_RESOLVE_SUBMITTING if alone else _RESOLVE_CHANGING).first(parameters)
    # PostgreSQL: a submit's own statement carries the session's idle bookkeeping (to_carry)
    found = _session_of(sid, row, not (submit and postgresql)) if row is not None else None
    if found is None:
        if alone:  # what the caller reads next (under the lock) is read in a transaction
            in_transactions(connection)
        return None
    ps, pctx = found
    assignment, response = _plain_rows(row, pctx)
    return ps, pctx, PartnerContext(pctx, assignment, response, locked=not alone, alone=alone)


def _plain_rows(row, pctx: PortalContext) -> tuple[AssignmentRow, ResponseRow]:
    # ``row`` is a mapping (``_columns``); the case and the partner are the ones the
    # statement was asked for
    version = VersionRow(row["version_id"], row["checksum"])
    assignment = AssignmentRow(
        row["id"],
        pctx.case_id,
        row["due_on"],
        row["locked"],
        row["released_at"],
        row["sections"],
        version,
        row["kind"],
    )
    response = ResponseRow(
        row["response_id"],
        pctx.partner_id,
        row["status"],
        row["revision"],
        row["saved_at"],
        row["answers_json_sealed"],
    )
    return assignment, response


def assignment_context(
    pctx: PortalContext, assignment_id, *, lock: bool = False, plain: bool = False
) -> PartnerContext | None:
    """One assignment of this partner in this case; None for anything else (the same 404).

    With ``lock`` (a request that changes answers) the assignment's row lock is taken first
    and everything is read under it, as it is now: release, reopen, submit and saves on one
    assignment run one at a time (see ``questionnaires.services.lock_assignment``). With
    ``plain`` the assignment and response are plain rows (an autosave, a submit:
    ``AssignmentRow``, ``ResponseRow``; ``PartnerContext.objects()`` loads them as objects).
    """
    if not isinstance(assignment_id, uuid.UUID):
        return None
    keys = {"assignment_id": assignment_id, "case_id": pctx.case_id, "partner_id": pctx.partner_id}
    # only an assignment of the partner's case: a probe cannot hold another case's row
    if plain and lock:
        row = read_locked(_PLAIN_LOCKED, keys, Assignment, assignment_id, case_id=pctx.case_id)
        row = row.first()
    elif plain:
        row = core_execute(_PLAIN, keys).first()
    else:
        if lock:
            take_lock(Assignment, assignment_id, case_id=pctx.case_id)
        row = db.session.execute(_ASSIGNMENT_LOCKED if lock else _ASSIGNMENT, keys).first()
    if row is None:
        return None
    assignment, response = _plain_rows(row._mapping, pctx) if plain else (row[0], row[1])
    return PartnerContext(pctx, assignment, response, locked=lock)


def open_link(link: Link) -> None:
    """Record that the partner opened a per-assignment link."""
    link.last_used_at = utcnow()


def open_assignment(ctx: PartnerContext) -> None:
    """Record that the partner opened this homework (the counselor sees "Opened")."""
    if ctx.response.status == "not_opened":
        ctx.response.status = "opened"
        ctx.response.opened_at = utcnow()
        audit.by_partner(ctx.partner_id, "portal.open", "response", ctx.response.id)


def open_home(pctx: PortalContext) -> None:
    """Record that the partner opened their home (the counselor sees when, last)."""
    pctx.home.last_opened_at = utcnow()
    audit.by_partner(pctx.partner_id, "portal.home_open")
