"""What pages show of agreements: the counselor's panel and page, one partner's page, the
cards of a partner's home and the caseload's flags. Reads only."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, select

from counselor.agreements import clauses as cl
from counselor.agreements.models import Agreement, AgreementAck, AgreementVersion, ClausePause
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
_CASE_AGREEMENTS = (
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
    found = list(db.session.scalars(_CASE_AGREEMENTS, {"case_id": case.id}))
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


def caseload_pause_flags(counselor) -> dict[uuid.UUID, tuple[int, str]]:
    """The caseload's flags (``pages.read_models.caseload``): a case with a clause a partner
    paused leads the caseload as an urgent alert does."""
    rows = db.session.scalars(_PAUSED_CASES, {"counselor_id": counselor.id})
    return {case_id: (0, "pause") for case_id in rows}


_PAUSED_CASES = (  # built once, as _CASE_AGREEMENTS
    select(Agreement.case_id)
    .join(ClausePause, ClausePause.agreement_id == Agreement.id)
    .join(Case, Case.id == Agreement.case_id)
    .where(Case.counselor_id == bindparam("counselor_id"), ClausePause.lifted_at.is_(None))
    .distinct()
)
