"""Celery tasks. They take ids, never ORM objects, and run inside the app context."""

from __future__ import annotations

import logging
import os
import sys
import traceback
import uuid

from celery import shared_task
from sqlalchemy import text

from counselor.extensions import db
from counselor.reports import builders, services, worker
from counselor.reports.models import Export
from counselor.reports.pdf import FontError
from counselor.worker import lease_task

log = logging.getLogger(__name__)

FAILED_SENTENCE = (
    "The PDF could not be made after {n} tries: part of this record could not be read or laid out. "
    "Try again; if it fails again, contact your practice's administrator."
)


@lease_task("counselor.reports.tasks.render_export", worker.claim)
def render_export(eid: uuid.UUID, token: str) -> str:
    """Render one export; a second delivery of the same message finds it claimed and stops."""
    try:
        pdf = builders.render(db.session.get(Export, eid))
    except FontError as exc:
        # A setup problem no retry can mend: say it to the counselor at once.
        log.error("export %s: %s", eid, exc)
        db.session.rollback()
        worker.fail_now(eid, token, f"The PDF could not be made: {exc}")
        return "failed"
    except Exception:  # noqa: BLE001 - any failure is retried, then reported in words
        # Type and place only: an exception's message (a reportlab layout error, say) can
        # quote the clinical text being laid out, and logs must never hold clinical text.
        log.error("export %s failed to render: %s", eid, _where(sys.exc_info()))
        db.session.rollback()
        attempts = db.session.get(Export, eid).attempts
        status = worker.give_up_or_requeue(eid, token, FAILED_SENTENCE.format(n=attempts))
        if status == "queued":
            # Back off before the next try; beat republishes it if this message is lost.
            services.publish(eid, countdown=min(2**attempts, 60))
        return status
    return "ready" if worker.finish(eid, token, pdf) else "lost-claim"


def _where(exc_info) -> str:
    """The exception's type and the innermost frame (file:line), nothing of its message."""
    exc_type, _, tb = exc_info
    frames = traceback.extract_tb(tb)
    last = frames[-1] if frames else None
    place = f" at {os.path.basename(last.filename)}:{last.lineno}" if last else ""
    return f"{exc_type.__name__}{place}"


@shared_task(name="counselor.reports.tasks.republish_stuck_exports", ignore_result=True)
def republish_stuck_exports() -> int:
    """Publish again every export that is queued without a live message or whose worker died."""
    ids = worker.stuck_exports()
    for eid in ids:
        services.publish(eid)
    return len(ids)


@shared_task(name="counselor.reports.tasks.purge_expired", ignore_result=True)
def purge_expired() -> int:
    """Delete exports past retention, and delivered messages the embedded broker keeps."""
    count = worker.purge_expired()
    _purge_embedded_broker()
    return count


def _purge_embedded_broker() -> None:
    """kombu's SQLAlchemy transport keeps delivered messages (visible = false) forever."""
    from flask import current_app
    from sqlalchemy import create_engine

    url = current_app.config["CELERY"]["broker_url"]
    if not url.startswith("sqla+"):
        return
    engine = create_engine(url[len("sqla+") :])
    try:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM kombu_message WHERE visible = 0"))
    except Exception:  # noqa: BLE001 - the table exists only once the broker was used
        log.info("embedded broker has no message table yet")
    finally:
        engine.dispose()
