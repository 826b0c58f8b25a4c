"""The caseload: a counselor's cases in caseload order, a page of them in one statement.

Caseload order: flagged cases first (open alerts, paused clauses: the features above name the
flags, see ``Flags``), by the flag's rank; then the latest session first, cases without one
last; then the newest case (then the id, so that pages never overlap).
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date, datetime
from operator import itemgetter

from sqlalchemy import (
    Integer,
    Select,
    Text,
    bindparam,
    cast,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy import case as sa_case

from counselor.auth.models import Counselor
from counselor.cases.flags import maybe_flagged
from counselor.cases.models import MAX_PARTNERS, Case, Partner
from counselor.core import audit
from counselor.core.crypto import row_id_records
from counselor.core.models import day_text, practice_zone, utcnow
from counselor.core.sql import hex_of, joined_parts, run_time, uuid_text
from counselor.extensions import core_execute

#: cases on one caseload page: the page stays small however large the caseload grows
PAGE_SIZE = 50


@dataclass(frozen=True)
class Flags:
    """What makes a case lead the caseload. The features that raise flags sit above cases,
    so the caller names them (``pages.read_models``)."""

    #: SELECTs of the open flags of every case (the caseload keeps the counselor's): two
    #: columns, the case's id and the flag's code, an index into ``kinds``; a case with
    #: several flags takes the lowest code
    sources: tuple[Select, ...]
    #: code -> (rank, kind): a lower rank leads the caseload, the kind names the badge
    kinds: tuple[tuple[int, str], ...]


#: no flags: every case in session order
NO_FLAGS = Flags((), ())


@dataclass(slots=True)
class CaseRow:
    """One case as the caseload lists it: read as plain columns and decrypted here (the
    caseload is every counselor page's start; tracked ORM objects cost it twice the time)."""

    #: its id's text (``str(uuid)``): what its label's associated data and its link hold;
    #: ``id`` makes the ``uuid.UUID`` when asked (making one for each row cost more than
    #: opening its label)
    key: str
    label: str
    status: str
    last_session_at: datetime | None
    #: the partners' names, in case order
    partners: list[str]
    #: (rank, kind) of its flag, None when it has none
    flag: tuple[int, str] | None = None
    #: its partners as the row says them: "2 partners: Sam Rivera, Alex Novak"
    who: str = ""
    #: its latest session as the row says it; a session still to come is booked, not last
    when: str = ""

    @property
    def id(self) -> uuid.UUID:
        """The case's id."""
        return uuid.UUID(self.key)


def _lines(cases: list[CaseRow]) -> None:
    """Each row's two lines of text, made here once a page rather than by filters and tests
    in the template for each row (a full page is fifty). The practice's zone is looked up
    once a page and each day's text made once (``local_day`` for each row did both)."""
    now = utcnow()
    naive_now = now.replace(tzinfo=None)  # for SQLite's naive UTC times
    zone = practice_zone()
    days: dict[date, str] = {}
    for case in cases:
        count = len(case.partners)
        case.who = f"{count} {'partner' if count == 1 else 'partners'}: {', '.join(case.partners)}"
        last = case.last_session_at
        if last is None:
            case.when = "No sessions yet"
            continue
        if last.tzinfo is None:
            # SQLite hands back naive datetimes; every stored time is UTC. Its seconds since
            # the epoch into the zone in one call: ``replace(tzinfo=UTC)`` then ``astimezone``
            # cost twice as much (``replace`` parses its keywords on every call)
            local = datetime.fromtimestamp((last - _EPOCH).total_seconds(), zone)
            booked = last > naive_now
        else:
            local = last.astimezone(zone)
            booked = last > now
        # booked or past from the stored time: a time in the zone is compared through the
        # zone's offset, two look-ups a row
        day = local.date()
        text = days.get(day)
        if text is None:
            text = days[day] = day_text(day)
        case.when = f"{'Session booked for' if booked else 'Last session'} {text}"


#: the epoch as SQLite's naive UTC times are kept
_EPOCH = datetime(1970, 1, 1)


@dataclass
class CaseloadPage:
    """One page of the caseload, with what the page links need."""

    cases: list[CaseRow]
    page: int
    pages: int
    total: int
    #: case id -> (rank, kind) of the flag of each flagged case on this page
    flagged: dict[uuid.UUID, tuple[int, str]] = dc_field(default_factory=dict)
    #: (number, address) of every page when there are several, set by the page
    #: (``pages.read_models``), as ``rows``: a URL function called from the template for
    #: each page link cost more than the link's markup. The address is HTML-escaped, as
    #: ``rows``' texts
    page_links: list[tuple[int, str]] = dc_field(default_factory=list)
    #: what the template shows of each case, set by the page (``pages.read_models``): (its
    #: case page's address, label, archived or not, its flag's kind or None, its two lines).
    #: Unpacked by the template's loop: an attribute of a row read in the template is a call
    #: of the environment's ``getattr``, seven a row, and a URL function called there cost
    #: about as much as the rest of the row's markup. Its texts are HTML-escaped already
    #: (``core.text.escaped_all``, one call a page), and the template prints them as they
    #: are: escaping each in the template cost a full page about a million instructions
    rows: list[tuple[str, str, bool, str | None, str, str]] = dc_field(default_factory=list)

    @property
    def first(self) -> int:
        """Position of the first case on this page (1-based), 0 when there is none."""
        return (self.page - 1) * PAGE_SIZE + 1 if self.cases else 0

    @property
    def last(self) -> int:
        """Position of the last case on this page."""
        return self.first + len(self.cases) - 1 if self.cases else 0


_CASE = Case.__table__
_PARTNER = Partner.__table__


# one digit of position per partner in ``_partners_of``
assert MAX_PARTNERS < 10


def _partners_of(case_id):
    """A case's partners as one text, a part per partner joined by commas, in no order: its
    position (one digit), its id (``uuid_text``), its sealed name (hex). A page row per case
    instead of one per partner: the page's statement returns and sorts a fifth of the rows,
    each probing the partners of its own case by index."""
    p = _PARTNER.c
    part = cast(p.position, Text) + uuid_text(p.id) + hex_of(p.display_name_sealed)
    return select(joined_parts(part)).where(p.case_id == case_id).scalar_subquery()


def _constant(value: int | str):
    """A constant of the statement as SQL text, not a parameter: the page statement is built
    once per process, and as parameters its constants (the flags' ranks, the page size, the
    status) made it too long for psycopg's cache of parsed statements (4,096 characters),
    which then parsed it on every request."""
    if not isinstance(value, int) and value not in ("active", "archived"):
        raise ValueError(f"not a caseload constant: {value!r}")
    return literal_column(str(value) if isinstance(value, int) else f"'{value}'")


def _parameter(name: str, type_):
    """A parameter of the caseload's statements, out of PostgreSQL's planner's sight
    (``run_time``): the counselor, the page's window. Their statements' estimates hang on
    these alone, so PostgreSQL plans each statement once per connection and keeps the plan
    (its generic plan), instead of planning it at every request for the counselor's own
    count of cases, which it did for a 10-case counselor in a practice of larger caseloads
    (planning cost more than running). One plan serves every counselor: the page is index
    walks that stop at a page's worth of cases (``_unflagged_page``) at any caseload."""
    return run_time(bindparam(name, type_=type_))


def _counselor():
    # a short name: it is written six times into the page's statement (``_constant``)
    return _parameter("owner", _CASE.c.counselor_id.type)


def _mine(status: str, *columns):
    """The counselor's cases (of ``status`` unless "all") as ``columns``."""
    c = _CASE.c
    stmt = select(*columns).where(c.counselor_id == _counselor())
    return stmt.where(c.status == _constant(status)) if status != "all" else stmt


def _cases(status: str, flag) -> object:
    """The counselor's cases with the columns the caseload shows and sorts by."""
    c = _CASE.c
    return _mine(
        status, c.id, c.label_sealed, c.status, c.last_session_at, c.created_at, flag.label("flag")
    )


def _flags(flags: Flags):
    """The counselor's flagged cases, (case_id, code), as a CTE: each source joined to the
    counselor's cases that may have a flag (``cases.flags``: a range of the partial index
    ``ix_case_maybe_flagged``, not every case), once per statement."""
    c = _CASE.c
    rows = []
    for source in flags.sources:
        # the source joined as it is, not as a subquery of its own: the statement's text
        # stays short enough for psycopg's cache of converted statements (``_constant``)
        case_id, code = source.selected_columns
        rows.append(
            source.with_only_columns(case_id.label("case_id"), code.label("code"))
            .join(_CASE, c.id == case_id)
            .where(c.counselor_id == _counselor(), maybe_flagged())
        )
    every = union_all(*rows).subquery("flag")
    return (
        select(every.c.case_id, func.min(every.c.code).label("code"))
        .group_by(every.c.case_id)
        .cte("flags")
    )


def _unflagged_page(status: str, flagged):
    """The counselor's cases not in ``flagged`` (a CTE of case ids, or None) in caseload
    order, at most ``upto`` (a parameter) of those with a session and as many without: two
    walks of ``ix_case_caseload`` that stop there, not a sort of every case. (The index has
    no NULLS LAST, which SQLite's indexes cannot say: the cases without a session are a walk
    of their own.)"""
    c = _CASE.c
    plain = _cases(status, cast(null(), Integer))
    if flagged is not None:
        plain = plain.where(c.id.not_in(select(flagged.c.case_id)))
    upto = _parameter("upto", Integer())
    booked = plain.where(c.last_session_at.is_not(None)).order_by(
        c.last_session_at.desc(), c.created_at.desc(), c.id.desc()
    )
    # ordered by the (null) session time too, so that PostgreSQL walks the index backwards
    # and stops at ``upto`` (for ``IS NULL`` it keeps no order of the next columns, and read
    # and sorted every case without a session); the same order for SQLite, which does
    unbooked = plain.where(c.last_session_at.is_(None)).order_by(
        c.last_session_at.desc(), c.created_at.desc(), c.id.desc()
    )
    return [select(*part.limit(upto).subquery().c) for part in (booked, unbooked)]


def _order(k, ranks: dict[int, int]) -> list:
    """Caseload order on the columns ``k`` of a subquery of ``_cases``."""
    whens = {_constant(code): _constant(rank) for code, rank in ranks.items()}
    rank = (sa_case(whens, value=k.flag, else_=_constant(len(ranks))),) if ranks else ()
    return [*rank, k.last_session_at.desc().nulls_last(), k.created_at.desc(), k.id.desc()]


@functools.cache
def _caseload_statement(status: str, flags: Flags, page: bool = False):
    """The counselor's cases in caseload order as the columns the caseload shows, one row per
    case with its partners in one column (``_partners_of``), in one statement: with ``page``,
    only the cases of one page (``offset`` and ``upto`` = offset + a page, parameters) and
    the count of all of them.

    A page is the counselor's flagged cases (each flag source joined to the counselor's
    cases that may have a flag, one index probe per such case and source) and the first
    ``upto`` unflagged cases read in index order, sorted together: the rows read and sorted
    stay a page's worth however many cases the counselor has. No window function: SQLite
    materialises and sorts every case for one.

    Built once per process for each status and ``Flags`` (a handful), with the ids as
    parameters: making a statement and its cache key costs more CPU than running it
    (README, "Where each page's CPU goes").
    """
    c = _CASE.c
    flagged = _flags(flags) if flags.sources else None
    code = flagged.c.code if flagged is not None else cast(null(), Integer)
    cases = _cases(status, code)
    if flagged is not None:
        cases = cases.outerjoin(flagged, flagged.c.case_id == c.id)
    if page:
        if flagged is not None:
            cases = _cases(status, code).join(flagged, flagged.c.case_id == c.id)
            cases = union_all(cases, *_unflagged_page(status, flagged))
        else:
            cases = union_all(*_unflagged_page(status, None))
    cases = cases.subquery("cand")  # short: its name is written a dozen times (``_constant``)
    ranks = {code: rank for code, (rank, _kind) in enumerate(flags.kinds)}
    if page:
        total = _mine(status, func.count()).scalar_subquery().label("total")
        page_of = select(*cases.c, total).order_by(*_order(cases.c, ranks))
        page_of = page_of.limit(_constant(PAGE_SIZE))
        cases = page_of.offset(_parameter("offset", Integer())).subquery("cases")
    k = cases.c
    return select(
        # text, not a ``uuid.UUID`` made for each row and turned back into text
        uuid_text(k.id).label("id"),
        k.label_sealed,
        k.status,
        k.last_session_at,
        k.flag,
        *((k.total,) if page else ()),
        _partners_of(k.id).label("partners"),
    ).order_by(*_order(k, ranks))


def _case_rows(rows, flags: Flags) -> list[CaseRow]:
    """The cases of rows of ``_caseload_statement``, their labels and partners' names
    decrypted, each once (their two lines are made for a page's cases only, by ``_page``).

    The page's labels, then all its names, are opened in one call each, their associated
    data made for all of them at once: from the ids' texts as PostgreSQL gives them
    (``EncryptedText.open_all``), from SQLite's hex digits handed over as one text and
    dashed together (``open_packed``). The names are read from their text by C functions
    mapped over the whole page: a full page reads about 250 sealed values, and the Python
    around each one (a loop's steps, slices, calls) cost more than its opening."""
    raw_ids = [row[0] for row in rows]
    packed = "".join(raw_ids)
    # PostgreSQL's ids come as ``str(uuid)``, SQLite's as 32 hex digits (``uuid_text``)
    dashed = len(packed) == 36 * len(rows)
    keys = raw_ids if dashed else _dashed(packed, len(rows))
    # in case order: each part starts with its partner's position (one digit), then its id
    # (as the case's), then its name sealed, in hex
    every: list[str] = []
    ends: list[int] = []  # where each case's partners end in ``every``
    for row in rows:
        if partners := row[-1]:
            every += sorted(partners.split(","))
        ends.append(len(every))
    width = 36 if dashed else 32
    names_sealed = list(map(bytes.fromhex, map(_SEALED_HEX[width], every)))
    labels_sealed = [row[1] for row in rows]
    if dashed:
        ids = list(map(_PARTNER_ID[width], every))
        names = Partner.display_name.open_all(names_sealed, ids)
        labels = Case.label.open_all(labels_sealed, keys)
    else:
        ids = "".join(map(_PARTNER_ID[width], every))
        names = Partner.display_name.open_packed(names_sealed, ids)
        labels = Case.label.open_packed(labels_sealed, packed)
    kinds = flags.kinds
    return [
        CaseRow(
            key,
            label,
            row[2],
            row[3],
            names[start:end],
            None if row[4] is None else kinds[row[4]],
        )
        for row, key, label, start, end in zip(rows, keys, labels, [0, *ends], ends, strict=False)
    ]


def _dashed(packed: str, count: int) -> list[str]:
    """The texts (``str(uuid)``) of ``count`` UUIDs whose 32 hex digits are back to back in
    ``packed``, without a ``uuid.UUID`` or a slice each (``crypto.row_id_records``)."""
    return row_id_records(packed, count).decode().split("\n") if count else []


#: id width -> a part's partner id, and its name sealed in hex (after the position digit)
_PARTNER_ID = {width: itemgetter(slice(1, 1 + width)) for width in (32, 36)}
_SEALED_HEX = {width: itemgetter(slice(1 + width, None)) for width in (32, 36)}


def _read(statement, params: dict) -> list:
    """Run a Core statement on the session's connection (its transaction): the ORM session's
    execute adds nothing to a statement that loads no objects but its own bookkeeping."""
    return core_execute(statement, params).all()


def _matches(case: CaseRow, needle: str) -> bool:
    return needle in case.label.casefold() or any(needle in n.casefold() for n in case.partners)


def _status(status: str) -> str:
    return status if status in ("active", "archived") else "all"


def list_cases(
    counselor: Counselor, query: str = "", status: str = "active", flags: Flags = NO_FLAGS
) -> list[CaseRow]:
    """Every case of the counselor matching status and a search over label and partner names.

    Labels and names are encrypted, so a search decrypts every label and partner name of
    the counselor's cases (about 20 ms per 1,000 cases) and filters in Python.
    """
    statement = _caseload_statement(_status(status), flags)
    cases = _case_rows(_read(statement, {"owner": counselor.id}), flags)
    needle = query.strip().casefold()
    return [c for c in cases if _matches(c, needle)] if needle else cases


@functools.cache
def _count_statement(status: str):
    return _mine(status, func.count())


def caseload_page(
    counselor: Counselor,
    query: str = "",
    status: str = "active",
    page: int = 1,
    flags: Flags = NO_FLAGS,
    event: tuple[str, str, uuid.UUID] | None = None,
) -> CaseloadPage:
    """One page of the caseload in caseload order, ``flags`` naming what leads it; its read
    audited as ``event`` (action, object kind and id) in the same transaction, if given.

    Without a search the database sorts and cuts the page, so only the page's cases are
    loaded and decrypted, and on PostgreSQL the page's statement writes the event
    (``audit.ReadWithEvent``). A search must decrypt all labels and names first (see
    list_cases).
    """
    status = _status(status)
    if query.strip():
        if event:
            audit.record(*event)
        matching = list_cases(counselor, query, status, flags)
        total = len(matching)
        page = _clamp(page, total)
        cases = matching[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        return _page(cases, page, total)
    # The page's cases with their partners and the count of all in one statement; a page
    # past the end is asked again, clamped.
    statement = _caseload_statement(status, flags, page=True)
    params = {"owner": counselor.id}

    def window(page: int) -> dict:
        offset = (page - 1) * PAGE_SIZE
        return {**params, "offset": offset, "upto": offset + PAGE_SIZE}

    if event:
        rows = _page_with_event(status, flags).rows(window(max(page, 1)), *event)
    else:
        rows = _read(statement, window(max(page, 1)))
    if not rows and page > 1:
        total = _read(_count_statement(status), params)[0][0]
        page = _clamp(page, total)
        if total:
            rows = _read(statement, window(page))
    total = rows[0].total if rows else 0
    return _page(_case_rows(rows, flags), _clamp(page, total), total)


@functools.cache
def _page_with_event(status: str, flags: Flags) -> audit.ReadWithEvent:
    """``_caseload_statement``'s page, writing the read's audit event on PostgreSQL."""
    return audit.ReadWithEvent(_caseload_statement(status, flags, page=True))


def _page(cases: list[CaseRow], page: int, total: int) -> CaseloadPage:
    _lines(cases)  # the page's cases only (a search reads all the counselor's)
    flagged = {case.id: case.flag for case in cases if case.flag is not None}
    return CaseloadPage(cases, page, _pages(total), total, flagged)


def _pages(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


def _clamp(page: int, total: int) -> int:
    return min(max(page, 1), _pages(total))
