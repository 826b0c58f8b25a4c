"""The counselor drafts an agreement: who it is between, a new agreement, drafts, and the
material from released answers the counselor may pull into a draft. Functions flush; routes
commit."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import select

from counselor.agreements import clauses as cl
from counselor.agreements import material
from counselor.agreements.models import Agreement, AgreementPartner, AgreementVersion
from counselor.agreements.queries import draft_of, lock, partner_names, published
from counselor.agreements.services import AgreementError
from counselor.cases.models import Case, Partner
from counselor.core import audit
from counselor.core.models import to_local, utcnow
from counselor.extensions import db

#: a version's review date, unless the counselor picks another
DEFAULT_REVIEW = timedelta(weeks=8)
MAX_TITLE = 200


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
            names=partner_names(agreement),
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
