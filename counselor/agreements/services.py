"""Agreement rules: drafting, publishing, acknowledging, pausing. Functions flush; routes commit.

Every state change of an agreement (publish, an answer, a pause, a lift) first takes the
agreement's row lock (``lock``): on one agreement they run one at a time, and each decides on
what the one before it committed. "In force" is kept on the agreement row under that lock.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from counselor.agreements import clauses as cl
from counselor.agreements import mailing, material
from counselor.agreements.models import (
    Agreement,
    AgreementAck,
    AgreementPartner,
    AgreementVersion,
    ClausePause,
)
from counselor.cases.models import Case, Partner
from counselor.core import audit
from counselor.core.locking import lock_row
from counselor.core.models import aware, to_local, utcnow
from counselor.core.ownership import get_owned_or_404
from counselor.extensions import db

#: a version's review date, unless the counselor picks another
DEFAULT_REVIEW = timedelta(weeks=8)
MAX_TITLE = 200
MAX_NOTE = 4000


class AgreementError(ValueError):
    """A change is not possible now or not like this; the message says why (a 4xx)."""


class Stale(AgreementError):
    """The page showed a version that is no longer the one to answer (a 409)."""


# ---- loading and locking -------------------------------------------------------------------


def _with_everything(stmt):
    return stmt.options(
        selectinload(Agreement.members),
        selectinload(Agreement.versions),
    )


def get_agreement_or_404(case: Case, agreement_id: uuid.UUID) -> Agreement:
    """An agreement of an owned case, else 404 (the same for another counselor's)."""
    return get_owned_or_404(
        Agreement,
        agreement_id,
        owner=Case.counselor_id,
        via=(Agreement.case,),
        where=(Agreement.case_id == case.id,),
    )


def lock(agreement: Agreement) -> Agreement:
    """Hold the agreement's row lock until the commit, with it, its versions, answers and
    pauses re-read (see the module's docstring)."""
    lock_row(
        Agreement,
        agreement.id,
        query=_with_everything(select(Agreement)),
        children=[(AgreementVersion, AgreementVersion.agreement_id)],
    )
    return agreement


def acks_of(agreement: Agreement) -> list[AgreementAck]:
    """Every answer given to the agreement, oldest first."""
    return list(
        db.session.scalars(
            select(AgreementAck)
            .where(AgreementAck.agreement_id == agreement.id)
            .options(selectinload(AgreementAck.partner))
            .order_by(AgreementAck.at, AgreementAck.id)
        )
    )


def pauses_of(agreement: Agreement) -> list[ClausePause]:
    """Every pause of the agreement, oldest first."""
    return list(
        db.session.scalars(
            select(ClausePause)
            .where(ClausePause.agreement_id == agreement.id)
            .options(selectinload(ClausePause.partner))
            .order_by(ClausePause.paused_at, ClausePause.id)
        )
    )


def published(agreement: Agreement) -> list[AgreementVersion]:
    """The published versions, oldest first."""
    return [v for v in agreement.versions if v.published_at is not None]


def draft_of(agreement: Agreement) -> AgreementVersion | None:
    """The version the counselor is writing, if any."""
    return next((v for v in agreement.versions if v.published_at is None), None)


def version_by_id(agreement: Agreement, version_id) -> AgreementVersion | None:
    """One version of the agreement (None: not of this agreement)."""
    return next((v for v in agreement.versions if v.id == version_id), None)


def in_force(agreement: Agreement) -> AgreementVersion | None:
    """The version in force: the newest one every partner of the agreement agreed to."""
    return version_by_id(agreement, agreement.in_force_id) if agreement.in_force_id else None


def latest_answers(acks: list[AgreementAck]) -> dict[tuple, AgreementAck]:
    """(version id, partner id) -> that partner's latest answer to that version."""
    latest: dict[tuple, AgreementAck] = {}
    for ack in acks:
        latest[(ack.version_id, ack.partner_id)] = ack
    return latest


def compute_in_force(agreement: Agreement, acks: list[AgreementAck]) -> uuid.UUID | None:
    """The newest published version whose every partner's latest answer is "agree"."""
    latest = latest_answers(acks)
    members = agreement.partner_ids
    for version in reversed(published(agreement)):
        if members and all(
            (a := latest.get((version.id, pid))) is not None and a.answer == "agree"
            for pid in members
        ):
            return version.id
    return None


def active_pauses(pauses: list[ClausePause]) -> list[ClausePause]:
    """Pauses not lifted."""
    return [p for p in pauses if p.lifted_at is None]


# ---- the counselor: agreements and drafts --------------------------------------------------


def relationship_pairs(case: Case) -> list[tuple[Partner, Partner]]:
    """The case's relationships as partner pairs, in case order (the map's first pair first)."""
    by_id = {p.id: p for p in case.partners}
    pairs = [(by_id[r.partner_a_id], by_id[r.partner_b_id]) for r in case.relationships]
    return sorted(pairs, key=lambda ab: (ab[0].position, ab[1].position))


def default_members(case: Case, pair: int | None = None) -> list[Partner]:
    """Who a new agreement is between unless the counselor chooses: everyone, when everyone is
    in a relationship with everyone; otherwise the partners of one relationship (``pair``:
    its place in ``relationship_pairs``, else the first); nobody when the map has none."""
    partners = list(case.partners)
    everyone = all(
        case.related(a.id, b.id) for i, a in enumerate(partners) for b in partners[i + 1 :]
    )
    if everyone and pair is None:
        return partners
    pairs = relationship_pairs(case)
    if not pairs:
        return []
    return list(pairs[pair if pair is not None and 0 <= pair < len(pairs) else 0])


def _title(text: str) -> str:
    title = (text or "").strip()
    if not title:
        raise AgreementError("Give the agreement a title the partners will see.")
    if len(title) > MAX_TITLE:
        raise AgreementError(f"A title may hold at most {MAX_TITLE} characters.")
    return title


def create(case: Case, title: str, partner_ids: list[uuid.UUID]) -> Agreement:
    """A new agreement between chosen partners of the case, with an empty first draft."""
    title = _title(title)
    ids = {p.id for p in case.partners}
    chosen = [pid for pid in dict.fromkeys(partner_ids) if pid in ids]
    if not chosen:
        raise AgreementError("Choose the partners this agreement is between.")
    agreement = Agreement(case_id=case.id, title=title)
    db.session.add(agreement)
    agreement.members = [AgreementPartner(partner_id=pid) for pid in chosen]
    db.session.flush()
    _new_draft(agreement, title, [])
    audit.record("agreement.create", "agreement", agreement.id)
    return agreement


def _new_draft(agreement: Agreement, title: str, clauses: list[dict]) -> AgreementVersion:
    number = max((v.number for v in agreement.versions), default=0) + 1
    version = AgreementVersion(
        agreement_id=agreement.id,
        number=number,
        review_on=to_local(utcnow()).date() + DEFAULT_REVIEW,
    )
    version.content_json = cl.canonical(title, clauses)
    agreement.versions.append(version)
    db.session.flush()
    return version


def start_draft(agreement: Agreement) -> AgreementVersion:
    """A new draft that starts from the newest published version (or the draft already open)."""
    lock(agreement)
    found = draft_of(agreement)
    if found is not None:
        return found
    versions = published(agreement)
    base = versions[-1] if versions else None
    draft = _new_draft(
        agreement, base.title if base else agreement.title, base.clauses if base else []
    )
    audit.record("agreement.draft", "agreement_version", draft.id)
    return draft


def save_draft(
    agreement: Agreement,
    draft: AgreementVersion,
    title: str,
    raw_clauses: list[dict],
    review_on: date | None,
) -> None:
    """Store the counselor's draft (checked); a published version cannot be saved."""
    if draft.published_at is not None:
        raise AgreementError("This version is published; start a new draft to change it.")
    keys = {str(pid) for pid in agreement.partner_ids}
    try:
        clauses = cl.clean_all(raw_clauses, keys)
    except cl.ClauseError as exc:
        raise AgreementError(str(exc)) from None
    today = to_local(utcnow()).date()
    if review_on is not None and review_on <= today:
        raise AgreementError("Choose a review date after today.")
    draft.content_json = cl.canonical(_title(title), clauses)
    draft.review_on = review_on
    audit.record("agreement.draft_save", "agreement_version", draft.id)


def publish(agreement: Agreement, draft_id: uuid.UUID) -> AgreementVersion:
    """Publish the draft: it becomes immutable, and the partners are asked to read it."""
    lock(agreement)
    draft = version_by_id(agreement, draft_id)
    if draft is None or draft.published_at is not None:
        raise Stale("This draft was already published. Reload the page to see the agreement.")
    if not draft.clauses:
        raise AgreementError("Add at least one clause before publishing.")
    draft.content_hash = cl.content_hash(draft.title, draft.clauses)
    draft.published_at = utcnow()
    agreement.title = draft.title
    audit.record("agreement.publish", "agreement_version", draft.id)
    mailing.tell_partners(agreement, "new_version")
    return draft


# ---- the partners --------------------------------------------------------------------------


def agreements_of_partner(partner: Partner) -> list[Agreement]:
    """The agreements a partner is in that have a published version (the only ones they see)."""
    found = db.session.scalars(
        _with_everything(select(Agreement))
        .join(AgreementPartner, AgreementPartner.agreement_id == Agreement.id)
        .where(AgreementPartner.partner_id == partner.id, Agreement.case_id == partner.case_id)
        .order_by(Agreement.created_at)
    )
    return [a for a in found if published(a)]


def for_partner(partner: Partner, agreement_id: uuid.UUID) -> Agreement | None:
    """One agreement the partner is in and may see, else None (the caller's 404 says no more)."""
    return next((a for a in agreements_of_partner(partner) if a.id == agreement_id), None)


def _latest_published(agreement: Agreement) -> AgreementVersion:
    return published(agreement)[-1]


def answer(
    agreement: Agreement, partner: Partner, version_id: uuid.UUID, what: str, note: str | None
) -> AgreementAck:
    """A partner's answer to the version they read: agree, or talk first (with a note for the
    counselor only). Refused when a newer version was published since the page was shown."""
    if what not in ("agree", "talk"):
        raise AgreementError("Choose “I agree” or “I want to talk about this first”.")
    note = (note or "").strip() or None
    if note and len(note) > MAX_NOTE:
        raise AgreementError(f"A note may hold at most {MAX_NOTE:,} characters.")
    lock(agreement)
    if partner.id not in agreement.partner_ids:
        raise AgreementError("This agreement is not yours to answer.")
    version = _latest_published(agreement)
    if version.id != version_id:
        raise Stale(
            "Your counselor has shared a newer version since you opened this page. "
            "Please read it first; nothing was recorded."
        )
    ack = AgreementAck(
        agreement_id=agreement.id,
        version_id=version.id,
        partner_id=partner.id,
        answer=what,
        content_hash=version.content_hash,
    )
    ack.note = note
    db.session.add(ack)
    db.session.flush()
    _refresh_in_force(agreement)
    audit.record(
        f"agreement.{what}",
        "agreement_version",
        version.id,
        actor_kind="partner",
        actor_id=partner.id,
    )
    return ack


def _refresh_in_force(agreement: Agreement) -> None:
    agreement.in_force_id = compute_in_force(agreement, acks_of(agreement))


def pause(agreement: Agreement, partner: Partner, clause_key: str) -> ClausePause:
    """Pause one clause in force, for everyone at once; one tap, no reason needed. Pausing a
    clause the partner has already paused returns that pause."""
    lock(agreement)
    if partner.id not in agreement.partner_ids:
        raise AgreementError("This agreement is not yours to pause.")
    current = in_force(agreement)
    if current is None or clause_key not in {c["key"] for c in current.clauses}:
        raise Stale(
            "This part is no longer in force, so there is nothing to pause. Reload the page."
        )
    for existing in active_pauses(pauses_of(agreement)):
        if existing.clause_key == clause_key and existing.partner_id == partner.id:
            return existing
    paused = ClausePause(
        agreement_id=agreement.id,
        version_id=current.id,
        clause_key=clause_key,
        partner_id=partner.id,
    )
    db.session.add(paused)
    db.session.flush()
    audit.record(
        "agreement.pause", "clause_pause", paused.id, actor_kind="partner", actor_id=partner.id
    )
    mailing.alert_counselor(agreement)
    mailing.tell_partners(agreement, "paused", but=partner.id)
    return paused


def _own_pause(agreement: Agreement, partner: Partner, pause_id: uuid.UUID) -> ClausePause:
    found = db.session.scalar(
        select(ClausePause).where(
            ClausePause.id == pause_id,
            ClausePause.agreement_id == agreement.id,
            ClausePause.partner_id == partner.id,
        )
    )
    if found is None:
        raise AgreementError("Only the partner who paused this can change that pause.")
    return found


def note_pause(agreement: Agreement, partner: Partner, pause_id: uuid.UUID, note: str) -> None:
    """Add the optional private note (for the counselor) to one's own pause, once."""
    note = (note or "").strip()
    if not note:
        raise AgreementError("The note is empty; nothing was added.")
    if len(note) > MAX_NOTE:
        raise AgreementError(f"A note may hold at most {MAX_NOTE:,} characters.")
    lock(agreement)
    paused = _own_pause(agreement, partner, pause_id)
    if paused.note_sealed is not None:
        raise AgreementError("You have already added a note to this pause.")
    paused.note = note
    audit.record(
        "agreement.pause_note", "clause_pause", paused.id, actor_kind="partner", actor_id=partner.id
    )


def lift(agreement: Agreement, partner: Partner, pause_id: uuid.UUID) -> None:
    """Lift one's own pause (nobody else can)."""
    lock(agreement)
    paused = _own_pause(agreement, partner, pause_id)
    if paused.lifted_at is not None:
        return
    paused.lifted_at = utcnow()
    audit.record(
        "agreement.lift", "clause_pause", paused.id, actor_kind="partner", actor_id=partner.id
    )


# ---- read models ---------------------------------------------------------------------------


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


def _names(agreement: Agreement) -> dict[uuid.UUID, str]:
    return {p.id: p.display_name for p in agreement.case.partners}


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
    names = _names(agreement)
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


def case_agreements(case: Case) -> list[CounselorView]:
    """Every agreement of a case as the case page shows it."""
    found = list(
        db.session.scalars(
            _with_everything(select(Agreement))
            .where(Agreement.case_id == case.id)
            .order_by(Agreement.created_at)
        )
    )
    if not found:
        return []
    # one read each for every agreement's answers and pauses, however many agreements
    ids = [a.id for a in found]
    acks = db.session.scalars(
        select(AgreementAck)
        .where(AgreementAck.agreement_id.in_(ids))
        .order_by(AgreementAck.at, AgreementAck.id)
    ).all()
    pauses = db.session.scalars(
        select(ClausePause)
        .where(ClausePause.agreement_id.in_(ids))
        .order_by(ClausePause.paused_at, ClausePause.id)
    ).all()
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
    newest = _latest_published(agreement)
    mine = [a for a in acks if a.partner_id == partner.id]
    my_latest = latest_answers(mine).get((newest.id, partner.id))
    agreed = [a for a in mine if a.answer == "agree"]
    by_id = {v.id: v for v in agreement.versions}
    since = by_id.get(agreed[-1].version_id) if agreed else None
    changes = cl.diff(since.clauses if since else [], newest.clauses) if since is not newest else []
    return PartnerPage(
        agreement=agreement,
        names=_names(agreement),
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


# ---- material the counselor may pull in ----------------------------------------------------

Material = material.Material


def _released(case: Case):
    from counselor.questionnaires.models import Assignment
    from counselor.reveal.services import load_assignment

    ids = db.session.scalars(
        select(Assignment.id)
        .where(Assignment.case_id == case.id, Assignment.released_at.is_not(None))
        .order_by(Assignment.created_at)
    )
    return [load_assignment(i) for i in ids]


def material_for(agreement: Agreement) -> list[Material]:
    """What the counselor may pull into a draft: only what EVERY partner of the agreement may
    already see, through the partner filter (``reveal.views.partner_view``, the same call as
    the partners' own pages): a match between two partners only when they are the whole
    agreement, and a partner's shared answer only when every other partner of the agreement
    is shown it. Never a maybe, a no, a limit, a note or a counselor-only answer."""
    from counselor.questionnaires.answers import answer_plain
    from counselor.reveal.services import assigned_partners

    found: list[Material] = []
    for assignment in _released(agreement.case):
        found += material.offer(
            assignment.definition,
            str(assignment.id),
            [p.id for p in assigned_partners(assignment)],
            {r.partner_id: r.answers for r in assignment.responses},
            agreement.partner_ids,
            names=_names(agreement),
            all_submitted=all(r.status == "submitted" for r in assignment.responses),
            related=assignment.case.related,
            plain=answer_plain,
        )
    # one line per thing, in a stable order
    unique = {m.key: m for m in found}
    return list(unique.values())


def _merged(found: list[Material], with_question: bool = False) -> str:
    """Answers to one field as lines: one line per question, the partners' shared answer once
    when they gave the same one, else each partner's own."""
    by_question: dict[str, list[Material]] = {}
    for m in found:
        by_question.setdefault(m.question, []).append(m)
    lines = []
    for question, answers in by_question.items():
        ask = f"{question}: " if with_question or len(by_question) > 1 else ""
        values = {m.value.strip().casefold() for m in answers}
        if len(values) == 1:
            lines.append(ask + answers[0].value)
        else:
            lines.append(ask + "; ".join(f"{m.author}: {m.value}" for m in answers))
    return "\n".join(lines)


def add_material(agreement: Agreement, draft: AgreementVersion, keys: list[str]) -> int:
    """Add the chosen material to the draft as clauses: each match its own activity clause,
    the pause-signal answers one pause signal clause, the aftercare answers one aftercare
    clause. Returns how many clauses were added; keys not on offer are ignored."""
    if draft.published_at is not None:
        raise AgreementError("This version is published; start a new draft to change it.")
    offered = {m.key: m for m in material_for(agreement)}
    chosen = [offered[k] for k in dict.fromkeys(keys) if k in offered]
    if not chosen:
        raise AgreementError("Tick what you want to add to the draft.")
    added: list[dict] = []
    signal: dict[str, list[Material]] = {}
    aftercare: list[Material] = []
    for m in chosen:
        if m.kind == "activity":
            added.append(
                {"kind": "activity", "text": m.text, "leads": m.leads, "follows": m.follows}
            )
        elif m.kind == "pause_signal":
            signal.setdefault(m.signal_field or "after", []).append(m)
        else:
            aftercare.append(m)
    if signal:
        added.append(
            {
                "kind": "pause_signal",
                "text": "Any of us can use it at any time, and everything stops at once.",
                "signal": {f: _merged(found) for f, found in signal.items()},
            }
        )
    if aftercare:
        added.append({"kind": "aftercare", "text": _merged(aftercare, with_question=True)})
    content = draft.content
    keys_ok = {str(pid) for pid in agreement.partner_ids}
    try:
        clauses = cl.clean_all(content["clauses"] + added, keys_ok)
    except cl.ClauseError as exc:
        raise AgreementError(str(exc)) from None
    draft.content_json = cl.canonical(content["title"], clauses)
    audit.record("agreement.material", "agreement_version", draft.id)
    return len(added)


def remind_reviews() -> int:
    """Mail the partners and the counselor of each agreement whose version in force reached
    its review date, once per version: a conditional UPDATE claims the reminder, so two runs
    at once send one."""
    from sqlalchemy import or_

    today = to_local(utcnow()).date()
    due = db.session.execute(
        select(Agreement.id, Agreement.in_force_id)
        .join(AgreementVersion, AgreementVersion.id == Agreement.in_force_id)
        .where(
            AgreementVersion.review_on <= today,
            or_(Agreement.reminded_id.is_(None), Agreement.reminded_id != Agreement.in_force_id),
        )
    ).all()
    sent = 0
    for agreement_id, version_id in due:
        claimed = db.session.execute(
            update(Agreement)
            .where(
                Agreement.id == agreement_id,
                Agreement.in_force_id == version_id,
                or_(Agreement.reminded_id.is_(None), Agreement.reminded_id != version_id),
            )
            .values(reminded_id=version_id)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            continue
        agreement = db.session.get(Agreement, agreement_id)
        mailing.tell_partners(agreement, "review")
        mailing.remind_counselor(agreement)
        audit.record("agreement.review_reminder", "agreement", agreement_id, actor_kind="system")
        sent += 1
    return sent


def caseload_pause_flags(counselor) -> dict[uuid.UUID, tuple[int, str]]:
    """The caseload's flags (``pages.read_models.caseload``): a case with a clause a partner
    paused leads the caseload as an urgent alert does."""
    rows = db.session.scalars(
        select(Agreement.case_id)
        .join(ClausePause, ClausePause.agreement_id == Agreement.id)
        .join(Case, Case.id == Agreement.case_id)
        .where(Case.counselor_id == counselor.id, ClausePause.lifted_at.is_(None))
        .distinct()
    )
    return {case_id: (0, "pause") for case_id in rows}
