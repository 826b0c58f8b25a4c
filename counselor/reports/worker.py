"""Exports, the worker's side: claim under a lease, finish, give up, republish, purge.

Each function commits: the worker has no request to commit for it.
"""

from __future__ import annotations

import uuid

from flask import current_app
from sqlalchemy import select

from counselor.core import audit
from counselor.core.crypto import associated_data, keyring
from counselor.core.lease import Lease
from counselor.core.models import utcnow
from counselor.extensions import db
from counselor.reports.models import Export

#: a worker claims an export for rendering under a lease (counselor.core.lease)
LEASE = Lease(
    Export,
    waiting="queued",
    working="rendering",
    lease_setting="COUNSELOR_EXPORT_LEASE_SECONDS",
    republish_setting="COUNSELOR_EXPORT_REPUBLISH_SECONDS",
)


def claim(export_id: uuid.UUID) -> str | None:
    """Take an export for rendering with one conditional UPDATE; None if someone else has it.

    Claimable: queued, or rendering with an expired lease (its worker died). A second
    delivery of the same message finds it rendering or ready and does nothing.
    """
    return LEASE.claim(export_id, started_at=utcnow())


def finish(export_id: uuid.UUID, token: str, pdf: bytes) -> bool:
    """Store the PDF (encrypted) if we still hold the claim; True when stored."""
    sealed = keyring().encrypt(pdf, associated_data("export", "pdf", export_id))
    done = LEASE.finish(
        export_id,
        token,
        status="ready",
        pdf_sealed=sealed,
        size_bytes=len(pdf),
        finished_at=utcnow(),
        error=None,
    )
    db.session.commit()
    if done:
        audit.record("export.ready", "export", export_id, actor_kind="system")
        db.session.commit()
    return done


def give_up_or_requeue(export_id: uuid.UUID, token: str, reason: str) -> str:
    """After a failed render: back to queued, or failed after the last try. Returns the status."""
    export = LEASE.held(export_id, token)
    if export is None:
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
    export = LEASE.held(export_id, token)
    if export is None:
        return
    export.status, export.error, export.finished_at = "failed", reason[:400], utcnow()
    export.claim, export.lease_expires_at = None, None
    audit.record("export.failed", "export", export_id, actor_kind="system")
    db.session.commit()


def stuck_exports() -> list[uuid.UUID]:
    """Exports that need publishing again: queued and not published lately, or with a dead lease."""
    return LEASE.stale()


def purge_expired() -> int:
    """Delete exports past their retention; returns how many."""
    expired = list(db.session.scalars(select(Export).where(Export.expires_at < utcnow())))
    for export in expired:
        audit.record("export.expire", "export", export.id, actor_kind="system")
        db.session.delete(export)
    db.session.commit()
    return len(expired)
