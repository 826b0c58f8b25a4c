"""Rows a background worker claims, holds for a while, and finishes: the outbox pattern.

Exports (rendering a PDF) and mail (sending a message) work alike: a task takes its row with
one conditional UPDATE, so that a second delivery of the same broker message finds it taken
and does nothing; the claim carries a random token and a lease, so that only the claim's
holder can finish the row and a row whose worker died becomes claimable again once its lease
has run out; and a periodic task publishes again whatever is waiting without a live message.

A table qualifies with the columns ``status``, ``claim``, ``lease_expires_at``, ``attempts``
and ``published_at``.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, or_, select, update

from counselor.core.models import utcnow
from counselor.extensions import db


@dataclass(frozen=True)
class Lease:
    """How workers take, hold and finish the rows of one table."""

    #: the mapped class
    model: type
    #: the status of a row waiting for a worker, and of one a worker holds
    waiting: str
    working: str
    #: the config keys of the lease's length and of the wait before publishing again (seconds)
    lease_setting: str
    republish_setting: str

    def claimable(self, now: datetime, *ready) -> object:
        """Waiting (and ``ready``, e.g. due), or held under a lease that has run out."""
        m = self.model
        return or_(
            and_(m.status == self.waiting, *ready),
            and_(m.status == self.working, m.lease_expires_at < now),
        )

    def claim(self, row_id: uuid.UUID, *ready, **values) -> str | None:
        """Take a row with one conditional UPDATE and commit; its token, or None if not ours.

        ``values`` are set along with the claim (a start time, say); ``ready`` narrows which
        waiting rows may be taken.
        """
        m = self.model
        now = utcnow()
        token = secrets.token_hex(16)
        lease = now + timedelta(seconds=current_app.config[self.lease_setting])
        result = db.session.execute(
            update(m)
            .where(m.id == row_id, self.claimable(now, *ready))
            .values(
                status=self.working,
                claim=token,
                lease_expires_at=lease,
                attempts=m.attempts + 1,
                **values,
            )
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        return token if result.rowcount == 1 else None

    def finish(self, row_id: uuid.UUID, token: str, **values) -> bool:
        """End the claim with ``values`` if it is still ours; True when it was (no commit)."""
        m = self.model
        result = db.session.execute(
            update(m)
            .where(m.id == row_id, m.claim == token, m.status == self.working)
            .values(claim=None, lease_expires_at=None, **values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    def held(self, row_id: uuid.UUID, token: str):
        """The row, loaded, if the claim ``token`` still holds it; else None."""
        row = db.session.get(self.model, row_id)
        return row if row is not None and row.claim == token else None

    def stale(self, *ready) -> list[uuid.UUID]:
        """Rows to publish again: waiting (and ``ready``) and not published lately, or held
        under a lease that has run out (their worker died)."""
        m = self.model
        now = utcnow()
        before = now - timedelta(seconds=current_app.config[self.republish_setting])
        recent = or_(m.published_at.is_(None), m.published_at < before)
        return list(db.session.scalars(select(m.id).where(self.claimable(now, recent, *ready))))
