"""Exports, the web side: request, publish, list, retry, delete. Functions flush; routes commit.

The worker's side is `counselor.reports.worker`; the plain data the PDFs are made of,
`counselor.reports.builders`.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import defer

from counselor.cases.models import Case, CounselingSession
from counselor.cases.services import get_in_case_or_404
from counselor.core import audit
from counselor.core.models import utcnow
from counselor.extensions import db
from counselor.reports import data as d
from counselor.reports.models import Export

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
    return get_in_case_or_404(Export, case, export_id)


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
    if session_id is None:
        return list(db.session.scalars(_CASE_EXPORTS, {"case_id": case.id}))
    return list(
        db.session.scalars(_SESSION_EXPORTS, {"case_id": case.id, "session_id": session_id})
    )


# Built once per process: making a statement and its cache key costs more CPU than running it
# (README, "Where each page's CPU goes"). A partner's agreement PDF is theirs: it is not
# among the counselor's exports.
_CASE_EXPORTS = (
    select(Export)
    .where(Export.case_id == bindparam("case_id"), Export.kind != "agreement")
    .options(defer(Export.pdf_sealed))
    .order_by(Export.requested_at.desc())
)
_SESSION_EXPORTS = _CASE_EXPORTS.where(Export.session_id == bindparam("session_id"))


@dataclass
class ExportLine:
    """One export as the case page lists it (what ``export_label`` and the list read)."""

    id: uuid.UUID
    kind: str
    status: str
    requested_at: datetime
    #: the partner a handout is for (None: not a handout), from the page's partners
    partner: object | None


_e = Export.__table__.c
_CASE_EXPORT_LINES = (  # built once, as _CASE_EXPORTS
    select(_e.id, _e.kind, _e.status, _e.requested_at, _e.partner_id)
    .where(_e.case_id == bindparam("case_id"), _e.kind != "agreement")
    .order_by(_e.requested_at.desc())
)


def case_export_lines(case_id: uuid.UUID, partners: dict) -> list[ExportLine]:
    """The case's exports as the case page lists them, newest first, as plain rows
    (``partners``: the page's partners by id, for a handout's name)."""
    return [
        ExportLine(row.id, row.kind, row.status, row.requested_at, partners.get(row.partner_id))
        for row in db.session.execute(_CASE_EXPORT_LINES, {"case_id": case_id})
    ]


def export_label(export: Export | ExportLine) -> str:
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
