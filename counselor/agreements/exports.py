"""Agreement PDFs through the reports pipeline: the partner's copy (an ``agreement`` export the
worker renders) and the agreement section of the clinical and case records."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import defer

from counselor.agreements import clauses as cl
from counselor.agreements import queries, views
from counselor.agreements.models import Agreement
from counselor.auth.models import Counselor
from counselor.cases.models import Partner
from counselor.core import audit
from counselor.core.models import aware, utcnow
from counselor.core.models import local_datetime as _when
from counselor.extensions import db
from counselor.reports import data as d
from counselor.reports import services as reports
from counselor.reports.models import Export

PAUSED_BY_A_PARTNER = "Paused by a partner: not in force until lifted."
PAUSED_BY_YOU = "Paused by you: not in force until you lift your pause."


def request(agreement: Agreement, partner: Partner) -> Export:
    """Write the export row of a partner's agreement PDF (published after the commit)."""
    export = Export(
        case_id=agreement.case_id,
        partner_id=partner.id,
        agreement_id=agreement.id,
        kind="agreement",
        status="queued",
        expires_at=utcnow() + timedelta(days=current_app.config["COUNSELOR_EXPORT_RETENTION_DAYS"]),
    )
    db.session.add(export)
    db.session.flush()
    audit.by_partner(partner.id, "export.request", "export", export.id)
    return export


def publish(export_id: uuid.UUID) -> bool:
    """Hand the export to the worker (beat republishes it if the broker is away)."""
    return reports.publish(export_id)


def for_partner(agreement: Agreement, partner: Partner, export_id: uuid.UUID) -> Export | None:
    """A PDF this partner asked for of this agreement, else None."""
    return db.session.scalar(
        select(Export)
        .where(
            Export.id == export_id,
            Export.kind == "agreement",
            Export.agreement_id == agreement.id,
            Export.partner_id == partner.id,
        )
        .options(defer(Export.pdf_sealed))
    )


def _details(clause: dict, names: dict) -> list[tuple[str, str]]:
    out = []
    leads, follows = views.role_names(clause, names)
    if leads:
        out.append(("Gives or leads", leads))
    if follows:
        out.append(("Receives or follows", follows))
    for field, label in cl.SIGNAL.items():
        value = (clause.get("signal") or {}).get(field, "")
        if value:
            out.append((label, value))
    out += [(label, clause.get(field, "")) for field, label in cl.CONDITIONS.items()]
    return out


def _in_force_line(agreement: Agreement, acks) -> str:
    current = queries.in_force(agreement)
    if current is None:
        return "No version is in force yet: not everyone has agreed to one."
    times = [aware(a.at) for a in acks if a.version_id == current.id and a.answer == "agree"]
    since = f", in force since {_when(max(times))}" if times else ""
    return f"Version {current.number}{since} (SHA-256 {current.content_hash})"


def partner_document(agreement: Agreement, partner: Partner) -> d.AgreementDocument:
    """The partner's copy: their own answers, "a partner" for anyone else's pause, and never
    who has or has not agreed, nor any note."""
    page = views.partner_page(agreement, partner)
    acks = queries.acks_of(agreement)
    names = page.names
    clauses = []
    for view in page.clauses:
        state = ""
        if view.paused:
            mine = any(p.partner_id == partner.id for p in view.pauses)
            state = PAUSED_BY_YOU if mine else PAUSED_BY_A_PARTNER
        clauses.append(
            d.ClauseBlock(
                cl.KINDS[view.clause["kind"]],
                view.clause.get("text", ""),
                _details(view.clause, names),
                state,
            )
        )
    history: list[tuple[datetime, str]] = []
    for v in queries.published(agreement):
        history.append(
            (aware(v.published_at), f"Version {v.number} shared (SHA-256 {v.content_hash})")
        )
    by_id = {v.id: v for v in agreement.versions}
    for a in acks:
        if a.partner_id == partner.id:
            said = "You agreed to" if a.answer == "agree" else "You asked to talk about"
            history.append(
                (
                    aware(a.at),
                    f"{said} version {by_id[a.version_id].number} (SHA-256 {a.content_hash})",
                )
            )
    for p in queries.pauses_of(agreement):
        who = "You" if p.partner_id == partner.id else "A partner"
        history.append((aware(p.paused_at), f"{who} paused a part"))
        if p.lifted_at:
            history.append((aware(p.lifted_at), f"{who} lifted a pause"))
    history.sort(key=lambda h: h[0])
    pending = []
    if page.pending is not None:
        pending.append(
            f"Version {page.pending.number} (SHA-256 {page.pending.content_hash}) is waiting until "
            "everyone has read and agreed to it; until then the version above stays in force."
        )
    counselor = db.session.get(Counselor, agreement.case.counselor_id)
    return d.AgreementDocument(
        partner=partner.display_name,
        generated_at=_when(utcnow()),
        practice=counselor.name if counselor else "",
        agreement=d.AgreementBlock(
            title=page.title,
            partners=[
                p.display_name for p in agreement.case.partners if p.id in agreement.partner_ids
            ],
            in_force=_in_force_line(agreement, acks),
            clauses=clauses,
            pending=pending,
            history=[(_when(at), what) for at, what in history],
        ),
    )


def render(export: Export, font_dir: str) -> bytes:
    """The worker's entry point for an ``agreement`` export."""
    from counselor.reports.pdf import render_agreement

    agreement = db.session.get(Agreement, export.agreement_id)
    partner = db.session.get(Partner, export.partner_id)
    if agreement is None or partner is None or partner.id not in agreement.partner_ids:
        raise LookupError("the agreement or partner of this export is gone")
    return render_agreement(partner_document(agreement, partner), font_dir)


def record_section(case_id: uuid.UUID, since: datetime | None, until: datetime | None) -> list:
    """The record PDFs' agreement blocks: the version in force with every pause and note, what
    is pending with each partner's answer, the history, and the changes since ``since``."""
    blocks = []
    agreements = db.session.scalars(
        queries.with_everything(select(Agreement))
        .where(Agreement.case_id == case_id)
        .order_by(Agreement.created_at)
    )
    for agreement in agreements:
        view = views.counselor_view(agreement)
        if not queries.published(agreement):
            continue
        acks = queries.acks_of(agreement)
        clauses = []
        for c in view.clauses:
            state = "; ".join(
                f"Paused by {view.names.get(p.partner_id, 'a partner')} on {_when(p.paused_at)}"
                + (f" — note: {p.note}" if p.note else "")
                for p in c.pauses
            )
            clauses.append(
                d.ClauseBlock(
                    cl.KINDS[c.clause["kind"]],
                    c.clause.get("text", ""),
                    _details(c.clause, view.names),
                    state,
                )
            )
        pending = []
        for version, answers in view.pending:
            said = ", ".join(
                f"{m.display_name}: "
                + ("agreed" if a and a.answer == "agree" else "wants to talk" if a else "not yet")
                for m, a in answers
            )
            pending.append(
                f"Version {version.number} (SHA-256 {version.content_hash[:12]}…): {said}"
            )
        history = [
            (h.at, h.text + (f" — note: {h.note}" if h.note else ""))
            for h in view.history
            if until is None or h.at <= until
        ]
        blocks.append(
            d.AgreementBlock(
                title=view.agreement.title,
                partners=[m.display_name for m in view.members],
                in_force=_in_force_line(agreement, acks),
                clauses=clauses,
                pending=pending,
                history=[(_when(at), what) for at, what in history],
                changes=[(_when(at), what) for at, what in history if since is None or at > since],
            )
        )
    return blocks
