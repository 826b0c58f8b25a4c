"""What pages show of agreements: the counselor's panel and page, one partner's page, the
cards of a partner's home and the caseload's flags. Reads only."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import bindparam, func, literal_column, select

from counselor.agreements import clauses as cl
from counselor.agreements.models import (
    Agreement,
    AgreementAck,
    AgreementPartner,
    AgreementVersion,
    ClausePause,
)
from counselor.agreements.queries import (
    acks_of,
    active_pauses,
    agreements_of_partner,
    draft_of,
    in_force,
    latest_answers,
    latest_published,
    partner_names,
    pauses_of,
    published,
    with_everything,
)
from counselor.cases.models import Case, Partner
from counselor.core.models import aware, to_local, utcnow
from counselor.extensions import db


@dataclass
class ClauseView:
    """A clause as a page shows it, with the pauses that hold it."""

    clause: dict
    pauses: list[ClausePause] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.clause["key"]

    @property
    def paused(self) -> bool:
        """Any partner's pause holds this clause (it is not in force)."""
        return bool(self.pauses)


@dataclass
class HistoryLine:
    """One event of the agreement's history, for the counselor and the record."""

    at: datetime
    text: str
    note: str = ""


@dataclass
class CounselorView:
    """Everything the counselor's agreement panel and page show."""

    agreement: Agreement
    names: dict[uuid.UUID, str]
    members: list[Partner]
    in_force: AgreementVersion | None
    clauses: list[ClauseView]
    pending: list[tuple[AgreementVersion, list[tuple[Partner, AgreementAck | None]]]]
    draft: AgreementVersion | None
    pauses: list[ClausePause]
    history: list[HistoryLine]
    review_due: bool = False

    @property
    def pending_counts(self) -> list[tuple[AgreementVersion, int, int]]:
        """Each pending version with how many partners agreed, of how many."""
        return [
            (v, sum(1 for _, a in answers if a is not None and a.answer == "agree"), len(answers))
            for v, answers in self.pending
        ]

    @property
    def active_pauses(self) -> list[ClausePause]:
        """Pauses not lifted, newest first."""
        return sorted(active_pauses(self.pauses), key=lambda p: aware(p.paused_at), reverse=True)

    def clause_text(self, key: str) -> str:
        """The wording of a clause by key, from the newest version that has it."""
        for version in reversed(published(self.agreement)):
            for clause in version.clauses:
                if clause["key"] == key:
                    return clause_summary(clause, self.names)
        return "(a clause no longer in the agreement)"


def clause_summary(clause: dict, names: dict) -> str:
    """A clause in one line (history and mails to the counselor's own record)."""
    text = clause.get("text") or ""
    word = (clause.get("signal") or {}).get("word")
    if clause["kind"] == "pause_signal" and word:
        text = f"pause word {word}"
    text = " ".join(text.split())
    return f"{cl.KINDS[clause['kind']]}: {text[:120]}{'…' if len(text) > 120 else ''}"


def role_names(clause: dict, names: dict) -> tuple[str, str]:
    """Who leads or gives, who follows or receives (names, or empty)."""

    def name(value):
        try:
            return names.get(uuid.UUID(value), "") if value else ""
        except ValueError:
            return ""

    return name(clause.get("leads")), name(clause.get("follows"))


def counselor_view(
    agreement: Agreement,
    acks: list[AgreementAck] | None = None,
    pauses: list[ClausePause] | None = None,
) -> CounselorView:
    """The version in force, pending versions with who agreed or asked to talk, paused
    clauses with the notes, and the whole history with times (``acks`` and ``pauses``:
    already loaded, oldest first)."""
    acks = acks_of(agreement) if acks is None else acks
    pauses = pauses_of(agreement) if pauses is None else pauses
    names = partner_names(agreement)
    members = [p for p in agreement.case.partners if p.id in agreement.partner_ids]
    current = in_force(agreement)
    holding = active_pauses(pauses)
    clauses = [
        ClauseView(c, [p for p in holding if p.clause_key == c["key"]])
        for c in (current.clauses if current else [])
    ]
    latest = latest_answers(acks)
    newer = [v for v in published(agreement) if current is None or v.number > current.number]
    pending = [(v, [(m, latest.get((v.id, m.id))) for m in members]) for v in newer]
    history: list[HistoryLine] = [HistoryLine(aware(agreement.created_at), "Agreement opened")]
    for v in published(agreement):
        history.append(
            HistoryLine(
                aware(v.published_at),
                f"Version {v.number} published (SHA-256 {v.content_hash[:12]}…)",
            )
        )
    by_id = {v.id: v for v in agreement.versions}
    for a in acks:
        said = "agreed to" if a.answer == "agree" else "wants to talk about"
        history.append(
            HistoryLine(
                aware(a.at),
                f"{names.get(a.partner_id, 'A partner')} {said} "
                f"version {by_id[a.version_id].number}",
                a.note or "",
            )
        )
    view = CounselorView(
        agreement, names, members, current, clauses, pending, draft_of(agreement), pauses, history
    )
    for p in pauses:
        what = view.clause_text(p.clause_key)
        who = names.get(p.partner_id, "A partner")
        history.append(HistoryLine(aware(p.paused_at), f"{who} paused “{what}”", p.note or ""))
        if p.lifted_at:
            history.append(HistoryLine(aware(p.lifted_at), f"{who} lifted their pause of “{what}”"))
    history.sort(key=lambda h: h.at)
    if current and current.review_on:
        view.review_due = current.review_on <= to_local(utcnow()).date()
    return view


# Built once per process: making a statement and its cache key costs more CPU than running it
# (README, "Where each page's CPU goes").


@functools.cache
def _case_agreements():
    """Built at first use, not at import: its loader options configure every mapper, which
    must wait until every model module has been imported (``counselor._import_models``)."""
    return (
        with_everything(select(Agreement))
        .where(Agreement.case_id == bindparam("case_id"))
        .order_by(Agreement.created_at)
    )


_ACKS = (
    select(AgreementAck)
    .where(AgreementAck.agreement_id.in_(bindparam("ids", expanding=True)))
    .order_by(AgreementAck.at, AgreementAck.id)
)
_PAUSES = (
    select(ClausePause)
    .where(ClausePause.agreement_id.in_(bindparam("ids", expanding=True)))
    .order_by(ClausePause.paused_at, ClausePause.id)
)


def case_agreements(case: Case) -> list[CounselorView]:
    """Every agreement of a case as the case page shows it."""
    found = list(db.session.scalars(_case_agreements(), {"case_id": case.id}))
    if not found:
        return []
    # one read each for every agreement's answers and pauses, however many agreements
    ids = {"ids": [a.id for a in found]}
    acks = db.session.scalars(_ACKS, ids).all()
    pauses = db.session.scalars(_PAUSES, ids).all()
    return [
        counselor_view(
            a,
            [x for x in acks if x.agreement_id == a.id],
            [x for x in pauses if x.agreement_id == a.id],
        )
        for a in found
    ]


@dataclass
class PanelLine:
    """One agreement as the case page's panel shows it: read as plain rows, with nothing
    decrypted but its title (no clause, note or answer text)."""

    id: uuid.UUID
    title: str
    #: the names of its partners, in case order
    members: list[str]
    #: how many pauses hold clauses now
    paused: int
    #: the version in force: its number and review date (None: none in force)
    in_force_number: int | None = None
    review_on: date | None = None
    review_due: bool = False
    #: published versions newer than the one in force: (number, agreed, of how many)
    pending: list[tuple[int, int, int]] = field(default_factory=list)
    #: a version is being written
    draft: bool = False


_ag, _av = Agreement.__table__.c, AgreementVersion.__table__.c
_ap, _ak, _cp = AgreementPartner.__table__.c, AgreementAck.__table__.c, ClausePause.__table__.c
# Built once per process (README, "Where each page's CPU goes"): the agreements with their
# versions and how many pauses hold each; then their members with every answer they gave.
_PANEL = (
    select(
        _ag.id,
        _ag.title_sealed,
        _ag.in_force_id,
        select(func.count())
        .where(_cp.agreement_id == _ag.id, _cp.lifted_at.is_(None))
        .scalar_subquery()
        .label("paused"),
        _av.id.label("version_id"),
        _av.number,
        _av.review_on,
        _av.published_at,
    )
    .outerjoin(AgreementVersion.__table__, _av.agreement_id == _ag.id)
    .where(_ag.case_id == bindparam("case_id"))
    .order_by(_ag.created_at, _ag.id, _av.number)
)
_PANEL_ANSWERS = (
    select(_ap.agreement_id, _ap.partner_id, _ak.version_id, _ak.answer)
    .outerjoin(
        AgreementAck.__table__,
        (_ak.agreement_id == _ap.agreement_id) & (_ak.partner_id == _ap.partner_id),
    )
    .where(_ap.agreement_id.in_(bindparam("ids", expanding=True)))
    .order_by(_ak.at, _ak.id)
)


def case_panel(case_id: uuid.UUID, partners: list) -> list[PanelLine]:
    """The case's agreements as its page's panel shows them, oldest first, in two statements
    whatever their number (``partners``: the case's, in case order)."""
    lines: dict[uuid.UUID, PanelLine] = {}
    versions: dict[uuid.UUID, list] = {}
    for row in db.session.execute(_PANEL, {"case_id": case_id}):
        if row.id not in lines:
            title = Agreement.title.open(row.title_sealed, row.id)
            lines[row.id] = PanelLine(row.id, title, [], row.paused)
            versions[row.id] = []
        if row.version_id is not None:
            versions[row.id].append(row)
    if not lines:
        return []
    members: dict[uuid.UUID, set] = {a: set() for a in lines}
    latest: dict[tuple, str] = {}  # (version, partner) -> the latest answer
    for row in db.session.execute(_PANEL_ANSWERS, {"ids": list(lines)}):
        members[row.agreement_id].add(row.partner_id)
        if row.version_id is not None:
            latest[(row.version_id, row.partner_id)] = row.answer
    today = to_local(utcnow()).date()
    for agreement_id, line in lines.items():
        mine = [p for p in partners if p.id in members[agreement_id]]
        line.members = [p.display_name for p in mine]
        current = None
        for v in versions[agreement_id]:
            if v.version_id == v.in_force_id:
                current = v
        if current is not None:
            line.in_force_number, line.review_on = current.number, current.review_on
            line.review_due = current.review_on is not None and current.review_on <= today
        for v in versions[agreement_id]:
            if v.published_at is None:
                line.draft = True
            elif current is None or v.number > current.number:
                agreed = sum(latest.get((v.version_id, p.id)) == "agree" for p in mine)
                line.pending.append((v.number, agreed, len(mine)))
    return list(lines.values())


@dataclass
class PartnerPage:
    """What one partner sees of one agreement: no other partner's answers, no notes but
    their own, never who has or has not agreed."""

    agreement: Agreement
    names: dict[uuid.UUID, str]
    in_force: AgreementVersion | None
    clauses: list[ClauseView]
    #: the newest published version, when it is not (yet) in force
    pending: AgreementVersion | None
    #: the version this partner is asked to answer (the newest published one)
    to_answer: AgreementVersion
    #: this partner's latest answer to ``to_answer`` (None: not answered yet)
    my_answer: AgreementAck | None
    #: what changed since the version this partner last agreed to
    changes: list[cl.Change]
    since: AgreementVersion | None
    #: clause key -> this partner's own active pause of it
    my_pauses: dict[str, ClausePause]

    @property
    def my_other_pauses(self) -> list[ClausePause]:
        """This partner's pauses of clauses the version in force no longer has (still theirs
        to lift)."""
        keys = {c.key for c in self.clauses}
        return [p for k, p in self.my_pauses.items() if k not in keys]

    @property
    def title(self) -> str:
        return self.to_answer.title


def partner_page(agreement: Agreement, partner: Partner) -> PartnerPage:
    """One partner's view of an agreement they are in."""
    acks = acks_of(agreement)
    pauses = active_pauses(pauses_of(agreement))
    current = in_force(agreement)
    newest = latest_published(agreement)
    mine = [a for a in acks if a.partner_id == partner.id]
    my_latest = latest_answers(mine).get((newest.id, partner.id))
    agreed = [a for a in mine if a.answer == "agree"]
    by_id = {v.id: v for v in agreement.versions}
    since = by_id.get(agreed[-1].version_id) if agreed else None
    changes = cl.diff(since.clauses if since else [], newest.clauses) if since is not newest else []
    return PartnerPage(
        agreement=agreement,
        names=partner_names(agreement),
        in_force=current,
        clauses=[
            ClauseView(c, [p for p in pauses if p.clause_key == c["key"]])
            for c in (current.clauses if current else [])
        ],
        pending=None if current is newest else newest,
        to_answer=newest,
        my_answer=my_latest,
        changes=changes,
        since=since,
        my_pauses={p.clause_key: p for p in pauses if p.partner_id == partner.id},
    )


@dataclass
class HomeCard:
    """One agreement as a partner's home shows it."""

    agreement_id: uuid.UUID
    title: str
    #: "to_read" (a version waits for this partner's answer), "paused", "in_force" or "pending"
    status: str
    sentence: str
    #: where the card leads (filled in by the routes)
    url: str = ""


def agreement_cards_for(partner: Partner) -> list[HomeCard]:
    """What a partner's home shows of their agreements (the partner home's plug-in)."""
    cards = []
    for agreement in agreements_of_partner(partner):
        page = partner_page(agreement, partner)
        if page.my_answer is None:
            status, sentence = "to_read", "There is a version for you to read."
        elif any(c.paused for c in page.clauses):
            status, sentence = "paused", "Part of it is paused."
        elif page.pending is not None:
            status, sentence = "pending", "A new version is waiting for everyone to read it."
        else:
            status, sentence = "in_force", "In force."
        cards.append(HomeCard(agreement.id, page.title, status, sentence))
    return cards


#: every clause a partner paused as (case id, 0): the caseload's flags
#: (``pages.read_models.CASELOAD_FLAGS``), which keep the counselor's cases
CASELOAD_PAUSES = (
    select(Agreement.case_id, literal_column("0"))
    .select_from(ClausePause)
    .join(Agreement, Agreement.id == ClausePause.agreement_id)
    .where(ClausePause.lifted_at.is_(None))
)
