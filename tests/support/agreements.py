"""A case whose partners answered and were released a pause-signal exercise and a desire
inventory, and agreements made through the services (a plain module, not a conftest)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from counselor.agreements import drafting, queries, services
from counselor.core.models import utcnow
from counselor.extensions import db
from tests.support import assign, new_case, open_portal, portal_csrf, questionnaire


def _desire(roles: dict, **more) -> dict:
    return {"roles": roles, **more}


@dataclass
class Released:
    """The case and what each of its partners answered (canaries in what must stay private)."""

    case: object
    sam: object
    alex: object
    tokens: dict
    private: list[str]


def _submit(assignment, answers_by_name: dict) -> None:
    for response in assignment.responses:
        response.answers = answers_by_name[response.partner.display_name]
        response.status = "submitted"
        response.submitted_at = utcnow()
    assignment.released_at = utcnow()


def released_case(account, names=("Sam Rivera", "Alex Novak"), label="Sam & Alex") -> Released:
    """Both partners answered the pause signal and the inventory; both are released."""
    from tests.support import sync

    if questionnaire("pause-signal") is None:
        sync()
    case = new_case(account, label, names)
    sam, alex = case.partners[0], case.partners[1]
    tag = uuid.uuid4().hex[:8]
    private = [f"PRIVATE-worry-{tag}", f"PRIVATE-note-{tag}", f"PRIVATE-maybe-{tag}"]
    pause, tokens = assign(case, "pause-signal", partners=[sam, alex])
    _submit(
        pause,
        {
            sam.display_name: {
                "signal.word": "Pineapple",
                "signal.nonverbal": "Two taps",
                "private.worry": private[0],
            },
            alex.display_name: {"signal.word": "Pineapple", "after.what": "A blanket and water"},
        },
    )
    inventory, _ = assign(case, "desires-boundaries", partners=[sam, alex])
    _submit(
        inventory,
        {
            sam.display_name: {
                "communication.instructions": _desire({"give": "yes"}),
                "communication.fantasy_talk": _desire({"together": "yes"}),
                "communication.praise": _desire({"give": "maybe"}, note=private[1]),
                "communication.describe_in_moment": _desire(
                    {"together": "yes"}, limits=["together"]
                ),
            },
            alex.display_name: {
                "communication.instructions": _desire({"receive": "yes"}),
                "communication.fantasy_talk": _desire({"together": "want_to_try"}),
                "communication.praise": _desire({"receive": "yes"}, note=private[2]),
                "communication.describe_in_moment": _desire({"together": "yes"}),
            },
        },
    )
    db.session.commit()
    return Released(case, sam, alex, tokens, private)


CLAUSES = [
    {"kind": "pause_signal", "text": "We stop at once.", "signal": {"word": "Pineapple"}},
    {"kind": "activity", "text": "Giving instructions", "where": "At home", "off_table": "Marks"},
    {"kind": "aftercare", "text": "A blanket and water"},
]


def published_agreement(case, clauses=None, partners=None, title="Our agreement"):
    """An agreement with one published version (nobody has answered it yet), committed."""
    agreement = drafting.create(case, title, [p.id for p in (partners or case.partners)])
    draft = queries.draft_of(agreement)
    drafting.save_draft(agreement, draft, title, clauses or CLAUSES, None)
    services.publish(agreement, draft.id)
    db.session.commit()
    return agreement


def revise(agreement, clauses, title=None):
    """Publish a new version with ``clauses`` (the keys of kept clauses must be passed)."""
    draft = drafting.start_draft(agreement)
    drafting.save_draft(agreement, draft, title or draft.title, clauses, None)
    services.publish(agreement, draft.id)
    db.session.commit()
    return draft


def agree_all(agreement, partners=None):
    """Every partner (or those given) agrees to the newest version, committed."""
    version = queries.published(agreement)[-1]
    for p in partners or [m for m in agreement.case.partners if m.id in agreement.partner_ids]:
        services.answer(agreement, p, version.id, "agree", None)
    db.session.commit()


def portal(client, token: str) -> str:
    """Open a personal link in ``client``; the portal CSRF token."""
    assert open_portal(client, token).status_code == 302
    return portal_csrf(client.get("/p/").get_data(as_text=True))
