"""Gradual steps in the record PDFs: each ladder of the case as it stands, as ``reports`` asks
for it through ``app.extensions["record_sections"]``.

The record is the counselor's: it names who marked a step and why one waits. What partners
wrote in their debriefs is in the record already, as the debrief homework it is.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from counselor.cases.models import Case
from counselor.core.models import day_text, local_day
from counselor.extensions import db
from counselor.reports.data import StepsBlock
from counselor.steps import services
from counselor.steps.models import Step
from counselor.steps.views import names_of

#: why a step waits, in the counselor's words
PAUSED_BECAUSE = {
    "partner": "a partner pressed Pause",
    "debrief": "a debrief asked to slow down, or fatigue or anxiety was high",
}


def _state(step: Step, current: Step | None, names: dict) -> str:
    who = names.get(step.marked_by, "a partner")
    when = local_day(step.marked_at) if step.marked_at else ""
    if step.status == "done":
        return f"Done on {when}, marked by {who}."
    if step.status == "skipped":
        return f"Skipped on {when}, by {who}."
    if step.status == "paused":
        why = PAUSED_BECAUSE.get(step.paused_because or "", "paused")
        return f"Paused since {when}: {why}."
    planned = f" Planned for {day_text(step.planned_on)}." if step.planned_on else ""
    return ("The step they are on." if step is current else "Not started.") + planned


def record_section(
    case_id: uuid.UUID, since: datetime | None, until: datetime | None
) -> list[StepsBlock]:
    """One block per ladder, oldest first; ``since`` and ``until`` do not narrow it (a
    ladder's state is shown as it is when the record is made)."""
    case = db.session.get(Case, case_id)
    if case is None:
        return []
    names = names_of(case)
    blocks = []
    for ladder in services.ladders_of_case(case):
        current = services.current(ladder)
        blocks.append(
            StepsBlock(
                place=services.place_label(ladder),
                partners=[p.display_name for p in services.partners_of(ladder)],
                steps=[(s.what, _state(s, current, names)) for s in services.on_ladder(ladder)],
                proposals=[
                    f"{s.what} (suggested by {names.get(s.proposed_by, 'a partner')})"
                    for s in ladder.steps
                    if s.status == "proposed"
                ],
            )
        )
    return blocks
