"""Which session a piece of homework belongs to: one rule for every record (pure).

A submission belongs to the first session that ends at or after it was submitted and after
the session before it ended: "homework since the previous session" of session N is what
arrived after session N-1 ended, up to the end of session N (a partner who sends it from the
waiting room is still on time). What arrives after the last session ends belongs to no
session yet; a case record lists it on its own, and a clinical record of the last session
does not claim it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

#: the bucket index for homework sent after the last session ended
AFTER_LAST = -1


def session_index(ends: Sequence[datetime], submitted_at: datetime) -> int:
    """The index of the session (by end times, oldest first) a submission belongs to."""
    for index, end in enumerate(ends):
        if submitted_at <= end:
            return index
    return AFTER_LAST


def by_session(
    ends: Sequence[datetime], submitted: Sequence[datetime | None]
) -> dict[int, list[int]]:
    """Positions of ``submitted`` grouped by session index (``AFTER_LAST`` for later ones);
    a ``None`` (not submitted) is left out."""
    out: dict[int, list[int]] = {}
    for position, at in enumerate(submitted):
        if at is not None:
            out.setdefault(session_index(ends, at), []).append(position)
    return out
