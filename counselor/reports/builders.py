"""The plain data the PDFs are made of, built from the database (`counselor.reports.data`).

A client handout goes through the partner-facing filter (the same as the partner's own page);
a clinical or case record holds everything the counselor sees.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from counselor.alerts.services import all_alert_cards
from counselor.auth.models import Counselor
from counselor.cases.models import Case, CounselingSession, Partner
from counselor.core.models import aware, day_text, utcnow
from counselor.core.models import local_datetime as _when
from counselor.core.models import local_day as _day
from counselor.extensions import db
from counselor.questionnaires import engine, trends
from counselor.questionnaires.answers import answer_plain
from counselor.questionnaires.models import Assignment
from counselor.reports import data as d
from counselor.reports import homework
from counselor.reports.models import Export
from counselor.reveal import matching
from counselor.reveal.services import compare, view_for_partner


def _session_block(s: CounselingSession, *, private: bool) -> d.SessionBlock:
    return d.SessionBlock(
        when=_when(s.starts_at),
        duration_minutes=s.duration_minutes,
        agenda=s.agenda or "",
        notes=(s.notes or "") if private else "",
        next_steps=s.next_steps or "",
    )


def _load_assignments(case: Case) -> list[Assignment]:
    return list(
        db.session.scalars(
            select(Assignment)
            .where(Assignment.case_id == case.id)
            .options(selectinload(Assignment.responses), selectinload(Assignment.version))
            .order_by(Assignment.created_at)
        )
    )


def _submitted_at(assignment: Assignment) -> datetime | None:
    times = [
        aware(r.submitted_at)
        for r in assignment.responses
        if r.status == "submitted" and r.submitted_at
    ]
    return max(times) if times else None


def _homework(assignment: Assignment) -> d.HomeworkBlock:
    cmp = compare(assignment)
    names = [p.display_name for p in cmp.partners]
    block = d.HomeworkBlock(
        title=assignment.definition.title,
        submitted=f"submitted {_day(_submitted_at(assignment))}",
        partners=names,
        pair_labels=[f"{a.display_name} & {b.display_name}" for a, b in cmp.pairs],
    )
    for row in cmp.items:
        block.rows.append(
            d.AnswerRow(
                question=row.item["text"],
                section=row.section,
                answers=[answer_plain(row.item, row.answers[p.id]) for p in cmp.partners],
                counselor_only=engine.share_of(row.item) == "counselor_only",
            )
        )
        if row.pairs:
            block.grid.append(d.DesireGridRow(row.item["text"], [p.cls for p in row.pairs]))
    for n, first in enumerate(cmp.scores[0].scores if cmp.scores else ()):
        block.scores.append(
            d.ScoreLine(
                first.title,
                [f"{ps.partner.display_name}: {_score_text(ps.scores[n])}" for ps in cmp.scores],
                first.source,
            )
        )
    return block


def _score_text(score) -> str:
    if not score.scored:
        return f"not scored ({score.reason})"
    prorated = f", prorated from {score.answered} of {score.total}" if score.prorated else ""
    reading = f" – {score.interpretation}" if score.interpretation else ""
    return f"{score.shown}{prorated}{reading}"


def _session_end(s: CounselingSession) -> datetime:
    return aware(s.starts_at) + timedelta(minutes=s.duration_minutes)


def homework_by_session(
    sessions: list[CounselingSession], assignments: list[Assignment]
) -> dict[int, list[Assignment]]:
    """Submitted assignments by the session they came in for (see ``reports.homework``)."""
    buckets = homework.by_session(
        [_session_end(s) for s in sessions], [_submitted_at(a) for a in assignments]
    )
    return {index: [assignments[i] for i in found] for index, found in buckets.items()}


#: item types answered with a number, whose answers over time make a chart
CHARTED = ("scale", "integer", "decimal")


def score_series(assignments: list[Assignment], partners: list[Partner]) -> list[d.Series]:
    """Scale and number items that recur across submitted assignments of the same
    questionnaire (check-ins, debriefs, intake re-takes): one series per item, a value per
    partner and day. The clinical PDF charts them, and so does the trends page."""
    by_item: dict[tuple[str, str], dict] = {}
    for a in assignments:
        defn = a.definition
        for r in a.responses:
            if r.status != "submitted" or r.submitted_at is None:
                continue
            answers = r.answers
            shown = engine.enabled_states(defn, answers)
            for item in defn.questions():
                if item["type"] not in CHARTED or not shown[item["link_id"]]:
                    continue
                value = answers.get(item["link_id"])
                if not isinstance(value, int | float) or isinstance(value, bool):
                    continue
                key = (defn.doc["slug"], item["link_id"])
                entry = by_item.setdefault(key, {"item": item, "points": {}})
                entry["points"].setdefault(r.partner_id, []).append((aware(r.submitted_at), value))
    names = {p.id: p.display_name for p in partners}
    series = []
    for entry in by_item.values():
        days = sorted({at.date() for pts in entry["points"].values() for at, _ in pts})
        if len(days) < 2:
            continue
        values = {}
        for pid, pts in entry["points"].items():
            per_day = {at.date(): v for at, v in sorted(pts)}
            values[names.get(pid, "Partner")] = [per_day.get(day) for day in days]
        item = entry["item"]
        answered = [v for pts in entry["points"].values() for _, v in pts]
        series.append(
            d.Series(
                item["text"],
                item.get("min", min(answered)),
                item.get("max", max(answered)),
                [day_text(day, year=False) for day in days],
                values,
                trends.describe(item["trend"]) if item.get("trend") else "",
            )
        )
    return series


def case_series(case: Case) -> list[d.Series]:
    """The case's series over every submitted assignment (the trends page's data)."""
    return score_series(_load_assignments(case), case.partners)


def _alert_lines(case: Case, until: datetime | None) -> list[d.AlertLine]:
    """A case's alerts raised up to ``until`` (all when None), open ones first, with notes."""
    lines = []
    for card in all_alert_cards(case):
        if until is not None and aware(card.first.triggered_at) > until:
            continue
        lines.append(
            d.AlertLine(
                when=_when(card.first.triggered_at),
                partner=card.first.partner.display_name,
                severity=card.severity,
                title=card.title,
                items=[
                    d.AlertItem(v.severity, v.message, v.question, v.answer) for v in card.items
                ],
                closed=_when(card.acknowledged_at) if card.acknowledged_at else "",
                note=card.note or "",
            )
        )
    return lines


def _summary(assignments: list[Assignment], alerts: list[d.AlertLine]) -> d.Summary:
    """What a counselor reads first: alerts, collisions, mismatches, who does what, notes."""
    out = d.Summary(alerts=alerts)
    for a in assignments:
        cmp = compare(a)
        names = cmp.names
        for row in cmp.items:
            item = row.item
            if item["type"] != "desire":
                continue
            for pr in row.pairs:
                first, second = names[pr.partner_a], names[pr.partner_b]
                if "limit_collision" in pr.classes:
                    out.collisions.append(f"{item['text']} ({first} & {second})")
                if "mismatch" in pr.classes:
                    out.mismatches.append(f"{item['text']} ({first} & {second})")
                # the comparison's own lines (per-role matches and limits), so the PDF and the
                # compare page never say it differently
                out.who_does_what += [
                    f"{item['text']}: {line}"
                    for line in matching.who_does_what(item, pr, first, second)
                ]
            for p in cmp.partners:
                value = row.answers[p.id]
                if isinstance(value, dict) and value.get("note"):
                    out.notes.append((p.display_name, item["text"], value["note"]))
    return out


def build_clinical(export: Export) -> d.ClinicalRecord:
    """A clinical record (one session) or case record (all sessions) as plain data."""
    case = db.session.scalar(
        select(Case)
        .where(Case.id == export.case_id)
        .options(selectinload(Case.partners), selectinload(Case.sessions))
    )
    counselor = db.session.get(Counselor, case.counselor_id)
    sessions = sorted(case.sessions, key=lambda s: aware(s.starts_at))
    assignments = _load_assignments(case)
    if export.kind == "clinical":
        chosen = [s for s in sessions if s.id == export.session_id]
    else:
        chosen = sessions
    buckets = homework_by_session(sessions, assignments)
    blocks = []
    for s in chosen:
        found = buckets.get(sessions.index(s), [])
        blocks.append((_session_block(s, private=True), [_homework(a) for a in found]))
    after_last = []
    if export.kind == "case_record":
        after_last = [_homework(a) for a in buckets.get(homework.AFTER_LAST, [])]
        covered = [a for found in buckets.values() for a in found]
        until = None
    else:
        covered = buckets.get(sessions.index(chosen[0]), []) if chosen else []
        until = _session_end(chosen[0]) if chosen else None
    return d.ClinicalRecord(
        variant=export.kind,
        case_label=case.label,
        partners=[p.display_name for p in case.partners],
        counselor=counselor.name,
        generated_at=_when(utcnow()),
        sessions=blocks,
        charts=score_series(assignments, case.partners),
        after_last=after_last,
        summary=_summary(covered, _alert_lines(case, until)),
        **_record_sections(case, chosen, sessions, export.kind),
    )


def _record_sections(case, chosen, sessions, kind) -> dict:
    """What features above reports add to a record, through
    ``app.extensions["record_sections"]``, without reports importing them: agreements (the
    one in force and the changes since the previous session), consent (who acknowledged which
    version of the practice's text) and steps (each ladder as it stands), as the record's
    ``agreements``, ``consent`` and ``steps`` fields."""
    if kind == "clinical" and chosen:
        index = sessions.index(chosen[0])
        since = aware(sessions[index - 1].starts_at) if index > 0 else None
        until = _session_end(chosen[0])
    else:
        last = sessions[-2] if len(sessions) > 1 else None
        since, until = (aware(last.starts_at) if last else None), None
    blocks = [
        block
        for provider in current_app.extensions.get("record_sections", ())
        for block in provider(case.id, since, until)
    ]
    consent = [b for b in blocks if isinstance(b, d.ConsentBlock)]
    return {
        "agreements": [b for b in blocks if isinstance(b, d.AgreementBlock)],
        "consent": consent[0] if consent else None,
        "steps": [b for b in blocks if isinstance(b, d.StepsBlock)],
    }


#: the built-in exercise whose shared answers are the partners' agreed pause signal
PAUSE_SIGNAL_SLUG = "pause-signal"
PAUSE_SIGNAL_ITEMS = {"signal.word": "pause word", "signal.nonverbal": "signal without words"}


def _handout_lines(item) -> list[str]:
    """One line per thing shared about an item: a mutual match on several roles is one line
    naming the roles, never the same sentence once per role."""
    texts: list[str] = []
    mutual: dict[str, list[str]] = {}
    for m in item.matches:
        if m.cls == "complementary":
            texts.append(
                f"You complement each other with {m.other}: "
                f"you {m.viewer_role.lower()}, {m.other} {m.other_role.lower()}."
            )
        else:
            mutual.setdefault(m.other, []).append(m.viewer_role)
    for other, roles in mutual.items():
        named = [r.lower() for r in roles if r.lower() != "together"]
        texts.append(
            f"You and {other} both want this"
            + (f" ({', '.join(dict.fromkeys(named))})." if named else ".")
        )
    texts += [f"{ans.other}: {answer_plain(ans.item, ans.value)}" for ans in item.answers]
    return list(dict.fromkeys(texts))


def _pause_lines(assignment: Assignment, partner: Partner, view) -> list[str]:
    """The pause signal: the partner's own answer and what the filter lets them see of the
    others' (the exercise marks these items shared)."""
    mine = next(r for r in assignment.responses if r.partner_id == partner.id).answers
    lines = []
    for link_id, what in PAUSE_SIGNAL_ITEMS.items():
        own = mine.get(link_id)
        others = [
            (ans.other, ans.value)
            for item in view.items
            if item.link_id == link_id
            for ans in item.answers
        ]
        values = [v for v in [own, *(v for _, v in others)] if engine.has_answer(v)]
        if not values:
            continue
        if len({str(v).strip().lower() for v in values}) == 1 and others:
            lines.append(f"Your agreed {what}: {values[0]}")
            continue
        parts = [f"you suggested “{own}”"] if engine.has_answer(own) else []
        parts += [f"{name} suggested “{v}”" for name, v in others if engine.has_answer(v)]
        lines.append(f"Your {what}: " + "; ".join(parts) + ".")
    return lines


def build_handout(export: Export) -> d.Handout:
    """A client handout for one partner, built only from the partner-facing filter."""
    case = db.session.scalar(
        select(Case).where(Case.id == export.case_id).options(selectinload(Case.partners))
    )
    session = db.session.get(CounselingSession, export.session_id)
    partner = next(p for p in case.partners if p.id == export.partner_id)
    counselor = db.session.get(Counselor, case.counselor_id)
    shared, upcoming, pause = [], [], []
    for a in _load_assignments(case):
        if not any(r.partner_id == partner.id for r in a.responses):
            continue
        view = view_for_partner(a, partner.id)  # the same filter as the partner's own page
        if view.visible and view.items:
            lines = [d.SharedLine(item.text, _handout_lines(item)) for item in view.items]
            shared.append(d.SharedBlock(a.definition.title, lines))
        if view.visible and a.definition.doc["slug"] == PAUSE_SIGNAL_SLUG:
            pause = _pause_lines(a, partner, view) or pause
        if aware(a.created_at) >= aware(session.starts_at):
            mine = next(r for r in a.responses if r.partner_id == partner.id)
            if mine.status != "submitted":
                due = f"due {day_text(a.due_on, long=True)}" if a.due_on else "no due date"
                upcoming.append((a.definition.title, due))
    # asked of the database, not of case.sessions: loaded rows survive commits now
    # (expire_on_commit=False), so a collection loaded earlier may miss a session added since
    later = db.session.scalar(
        select(CounselingSession.starts_at)
        .where(
            CounselingSession.case_id == case.id,
            CounselingSession.starts_at > session.starts_at,
        )
        .order_by(CounselingSession.starts_at)
        .limit(1)
    )
    return d.Handout(
        partner=partner.display_name,
        next_appointment=_when(later) if later else "",
        contact=f"{counselor.name} · {counselor.email}",
        pause_signal=pause,
        counselor=counselor.name,
        session_when=_when(session.starts_at),
        generated_at=_when(utcnow()),
        next_steps=session.next_steps or "",
        shared=shared,
        upcoming=upcoming,
    )


def render(export: Export) -> bytes:
    """Build the plain data for an export and render it to PDF bytes."""
    from counselor.reports.pdf import render_clinical, render_handout

    font_dir = current_app.config["COUNSELOR_PDF_FONT_DIR"]
    # a feature above reports (agreements) renders its own kinds through this pipeline,
    # registered in ``app.extensions["export_renderers"]``
    plugged = current_app.extensions.get("export_renderers", {}).get(export.kind)
    if plugged is not None:
        return plugged(export, font_dir)
    if export.kind == "handout":
        return render_handout(build_handout(export), font_dir)
    return render_clinical(build_clinical(export), font_dir)
