"""A ladder under an agreement clause waits while that clause is paused.

A partner who presses *Pause this* on a clause has stopped what it covers, for everyone; the
steps of that clause cannot be marked done or skipped until every pause on it is lifted. (A
step can still be paused: pausing is never refused.)
"""

from __future__ import annotations

from sqlalchemy import select

from counselor.agreements.models import ClausePause
from counselor.extensions import db

#: what a partner is told when they try to go on while the clause is paused
HELD = (
    "This part of your agreement is paused, so its steps wait until the pause is lifted. "
    "Nobody needs to explain a pause."
)


def clause_paused(ladder) -> bool:
    """Whether the clause the ladder belongs to has a pause not lifted (False for a ladder of
    the case's own)."""
    if ladder.agreement_id is None:
        return False
    found = db.session.scalar(
        select(ClausePause.id)
        .where(
            ClausePause.agreement_id == ladder.agreement_id,
            ClausePause.clause_key == ladder.clause_key,
            ClausePause.lifted_at.is_(None),
        )
        .limit(1)
    )
    return found is not None
