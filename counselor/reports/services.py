"""Exports: requesting, claiming and finishing them, and building the renderer's plain data."""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import selectinload

from counselor.auth.models import Counselor
from counselor.cases.models import Case, CounselingSession, Partner
from counselor.core import audit
from counselor.core.crypto import associated_data, keyring
from counselor.core.models import aware, utcnow
from counselor.core.models import local_datetime as _when
from counselor.core.models import local_day as _day
from counselor.core.ownership import get_owned_or_404
from counselor.extensions import db
from counselor.questionnaires import engine
from counselor.questionnaires.models import Assignment
from counselor.reports import data as d
from counselor.reports import homework
from counselor.reports.models import Export
from counselor.reveal import matching
from counselor.reveal.services import all_alert_cards, answer_plain, compare, view_for_partner

log = logging.getLogger(__name__)

STATUS_TEXT = {
    "queued": "Waiting for the background worker to pick it up.",
    "rendering": "Being made now.",
    "ready": "Ready to download.",
    "failed": "Could not be made.",
}


RENDER_TASK = "counselor.reports.tasks.render_export"


class ExportError(ValueError):
    """An export cannot be requested like this; the message is shown (a 4xx)."""


# ---- requesting ---------------------------------------------------------------------------


def get_export_or_404(case: Case, export_id: uuid.UUID) -> Export:
    """An export of an owned case, else 404."""
    return get_owned_or_404(
        Export,
        export_id,
        owner=Case.counselor_id,
        via=(Export.case,),
        where=(Export.case_id == case.id,),
    )


def request_export(
    case: Case, kind: str, session: CounselingSession | None, partner_id: uuid.UUID | None
) -> Export:
    """Write the export row (the request); publishing happens after the commit."""
    if kind not in ("clinical", "handout", "case_record"):
        raise ExportError("Choose Clinical record, Client handout or Case record.")
    if kind != "case_record" and session is None:
        raise ExportError("Choose a session to export.")
    if kind == "handout":
        if partner_id is None or partner_id not in {p.id for p in case.partners}:
            raise ExportError("Choose the partner this handout is for.")
    else:
        partner_id = None
    export = Export(
        case_id=case.id,
        session_id=session.id if session is not None and kind != "case_record" else None,
        partner_id=partner_id,
        kind=kind,
        status="queued",
        expires_at=utcnow() + timedelta(days=current_app.config["COUNSELOR_EXPORT_RETENTION_DAYS"]),
    )
    db.session.add(export)
    db.session.flush()
    audit.record("export.request", "export", export.id)
    return export


def publish(export_id: uuid.UUID, countdown: float | None = None) -> bool:
    """Hand an export to the broker; False (and nothing raised) when the broker is unreachable."""
    celery = current_app.extensions["celery"]  # this app's broker, whatever the default app is
    try:
        celery.send_task(RENDER_TASK, args=[str(export_id)], countdown=countdown, retry=False)
    except Exception as exc:  # noqa: BLE001 - any broker failure means "publish later"
        log.warning(
            "export %s not published, broker unreachable: %s", export_id, type(exc).__name__
        )
        return False
    db.session.execute(update(Export).where(Export.id == export_id).values(published_at=utcnow()))
    db.session.commit()
    return True


def retry_export(export: Export) -> None:
    """Put a failed export back in the queue."""
    if export.status != "failed":
        raise ExportError("Only a failed export can be tried again.")
    export.status, export.attempts, export.error, export.claim = "queued", 0, None, None
    export.published_at = None
    audit.record("export.retry", "export", export.id)


def delete_export(export: Export) -> None:
    """Delete an export and its PDF."""
    audit.record("export.delete", "export", export.id)
    db.session.delete(export)


def case_exports(case: Case, session_id: uuid.UUID | None = None) -> list[Export]:
    """A case's exports (or one session's), newest first, without loading the PDFs' bytes."""
    from sqlalchemy.orm import defer

    stmt = (
        select(Export)
        .where(Export.case_id == case.id)
        .options(defer(Export.pdf_sealed))
        .order_by(Export.requested_at.desc())
    )
    if session_id is not None:
        stmt = stmt.where(Export.session_id == session_id)
    # a partner's agreement PDF is theirs: it is not among the counselor's exports
    return list(db.session.scalars(stmt.where(Export.kind != "agreement")))


# ---- the worker's side ------------------------------------------------------------------------


def claim(export_id: uuid.UUID) -> str | None:
    """Take an export for rendering with one conditional UPDATE; None if someone else has it.

    Claimable: queued, or rendering with an expired lease (its worker died). A second
    delivery of the same message finds it rendering or ready and does nothing.
    """
    now = utcnow()
    token = secrets.token_hex(16)
    lease = now + timedelta(seconds=current_app.config["COUNSELOR_EXPORT_LEASE_SECONDS"])
    result = db.session.execute(
        update(Export)
        .where(
            Export.id == export_id,
            or_(
                Export.status == "queued",
                and_(Export.status == "rendering", Export.lease_expires_at < now),
            ),
        )
        .values(
            status="rendering",
            claim=token,
            started_at=now,
            lease_expires_at=lease,
            attempts=Export.attempts + 1,
        )
    )
    db.session.commit()
    return token if result.rowcount == 1 else None


def finish(export_id: uuid.UUID, token: str, pdf: bytes) -> bool:
    """Store the PDF (encrypted) if we still hold the claim; True when stored."""
    sealed = keyring().encrypt(pdf, associated_data("export", "pdf", export_id))
    result = db.session.execute(
        update(Export)
        .where(Export.id == export_id, Export.claim == token, Export.status == "rendering")
        .values(
            status="ready",
            pdf_sealed=sealed,
            size_bytes=len(pdf),
            finished_at=utcnow(),
            lease_expires_at=None,
            error=None,
        )
    )
    db.session.commit()
    if result.rowcount == 1:
        audit.record("export.ready", "export", export_id, actor_kind="system")
        db.session.commit()
    return result.rowcount == 1


def give_up_or_requeue(export_id: uuid.UUID, token: str, reason: str) -> str:
    """After a failed render: back to queued, or failed after the last try. Returns the status."""
    export = db.session.get(Export, export_id)
    if export is None or export.claim != token:
        return "gone"
    if export.attempts >= current_app.config["COUNSELOR_EXPORT_MAX_ATTEMPTS"]:
        export.status = "failed"
        export.error = reason
        export.finished_at = utcnow()
        audit.record("export.failed", "export", export_id, actor_kind="system")
    else:
        export.status = "queued"
        export.published_at = None
    export.claim, export.lease_expires_at = None, None
    db.session.commit()
    return export.status


def fail_now(export_id: uuid.UUID, token: str, reason: str) -> None:
    """End an export as failed without further tries (a problem no retry can mend)."""
    export = db.session.get(Export, export_id)
    if export is None or export.claim != token:
        return
    export.status, export.error, export.finished_at = "failed", reason[:400], utcnow()
    export.claim, export.lease_expires_at = None, None
    audit.record("export.failed", "export", export_id, actor_kind="system")
    db.session.commit()


def stuck_exports() -> list[uuid.UUID]:
    """Exports that need publishing again: queued and not published lately, or with a dead lease."""
    now = utcnow()
    republish_before = now - timedelta(
        seconds=current_app.config["COUNSELOR_EXPORT_REPUBLISH_SECONDS"]
    )
    rows = db.session.scalars(
        select(Export.id).where(
            or_(
                and_(
                    Export.status == "queued",
                    or_(Export.published_at.is_(None), Export.published_at < republish_before),
                ),
                and_(Export.status == "rendering", Export.lease_expires_at < now),
            )
        )
    )
    return list(rows)


def purge_expired() -> int:
    """Delete exports past their retention; returns how many."""
    expired = list(db.session.scalars(select(Export).where(Export.expires_at < utcnow())))
    for export in expired:
        audit.record("export.expire", "export", export.id, actor_kind="system")
        db.session.delete(export)
    db.session.commit()
    return len(expired)


# ---- building plain data for the renderer --------------------------------------------------------


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


def _charts(assignments: list[Assignment], partners: list[Partner]) -> list[d.Series]:
    """Scale items that recur across submitted assignments of the same questionnaire."""
    by_item: dict[tuple[str, str], dict] = {}
    for a in assignments:
        defn = a.definition
        for r in a.responses:
            if r.status != "submitted" or r.submitted_at is None:
                continue
            answers = r.answers
            shown = engine.enabled_states(defn, answers)
            for item in defn.questions():
                if item["type"] != "scale" or not shown[item["link_id"]]:
                    continue
                value = answers.get(item["link_id"])
                if value is None:
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
        series.append(
            d.Series(
                item["text"],
                item["min"],
                item["max"],
                [day.strftime("%-d %b") for day in days],
                values,
            )
        )
    return series


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
        charts=_charts(assignments, case.partners),
        after_last=after_last,
        summary=_summary(covered, _alert_lines(case, until)),
        agreements=_record_sections(case, chosen, sessions, export.kind),
    )


def _record_sections(case, chosen, sessions, kind) -> list:
    """What features above reports add to a record (agreements: the one in force and the
    changes since the previous session), without reports importing them."""
    if kind == "clinical" and chosen:
        index = sessions.index(chosen[0])
        since = aware(sessions[index - 1].starts_at) if index > 0 else None
        until = _session_end(chosen[0])
    else:
        last = sessions[-2] if len(sessions) > 1 else None
        since, until = (aware(last.starts_at) if last else None), None
    return [
        block
        for provider in current_app.extensions.get("record_sections", ())
        for block in provider(case.id, since, until)
    ]


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
                due = f"due {a.due_on.strftime('%-d %B %Y')}" if a.due_on else "no due date"
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
    # a feature above reports (agreements) renders its own kinds through this pipeline
    plugged = current_app.extensions.get("export_renderers", {}).get(export.kind)
    if plugged is not None:
        return plugged(export, font_dir)
    if export.kind == "handout":
        return render_handout(build_handout(export), font_dir)
    return render_clinical(build_clinical(export), font_dir)


def export_label(export: Export) -> str:
    """What an export is, for lists."""
    label = d.VARIANT_TITLES[export.kind]
    if export.kind == "handout" and export.partner is not None:
        label += f" for {export.partner.display_name}"
    return label


def status_payload(export: Export, download_url: str | None) -> dict:
    """The JSON the status page polls."""
    return {
        "status": export.status,
        "text": export.error
        if export.status == "failed" and export.error
        else STATUS_TEXT[export.status],
        "download_url": download_url if export.status == "ready" else None,
        "attempts": export.attempts,
    }
