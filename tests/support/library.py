"""Questionnaires and assignments: the library, own definitions, the one assign helper."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from counselor.demo import INTAKE as DEMO_INTAKE
from counselor.extensions import db

#: the built-in inventory most reveal tests assign, and the built-in intake
INVENTORY = "desires-boundaries"
INTAKE = "intake"


def sync():
    """Load the built-in library and commit (what `flask library sync` does)."""
    from counselor.questionnaires.services import sync_library

    result = sync_library()
    db.session.commit()
    return result


def questionnaire(slug: str, owner_id=None):
    """A built-in questionnaire by slug, or the counselor's own one with ``owner_id``."""
    from counselor.questionnaires.models import Questionnaire

    stmt = select(Questionnaire).where(Questionnaire.slug == slug)
    stmt = stmt.where(
        Questionnaire.owner_id.is_(None) if owner_id is None else Questionnaire.owner_id == owner_id
    )
    return db.session.scalar(stmt)


def load_own(account, doc: dict | None = None):
    """Store a definition (``small_definition()`` by default) as the counselor's own
    questionnaire, committed; returns the Questionnaire."""
    from counselor.questionnaires.services import load_definition

    q, _ = load_definition(doc or small_definition(), account.id)
    db.session.commit()
    return q


def assign(
    case,
    what=INVENTORY,
    *,
    partners=None,
    due_on=None,
    ttl_days=None,
    owner_id=None,
):
    """Assign through the service (no HTTP) and commit; returns (assignment, {name: token}).

    ``what`` is a Questionnaire, or the slug of a built-in one (of the counselor ``owner_id``'s
    own ones with ``owner_id``). ``partners``: all of the case's partners unless given.
    """
    from counselor.questionnaires import services

    q = what if not isinstance(what, str) else questionnaire(what, owner_id)
    assert q is not None, f"questionnaire {what} not loaded"
    assignment, issued = services.assign(
        case,
        q.latest,
        [p.id for p in partners] if partners else [],
        due_on=due_on,
        instructions=None,
        ttl_days=ttl_days,
        links=True,  # per-assignment links, as before homes: one homework opened directly
    )
    db.session.commit()
    return assignment, {i.partner.display_name: i.token for i in issued}


LINK_ROW = re.compile(
    r'<h2 class="h5 mb-1">(?P<name>[^<]+)</h2>.*?value="(?P<url>https?://[^"]+/(?P<kind>[lh])/(?P<token>[A-Za-z0-9_\-]+))"',
    re.S,
)


def links_from(page: str) -> dict[str, str]:
    """{partner display name: raw token} from a page that shows freshly issued links; a home
    link is given as its path ``/h/<token>`` (open_link opens either kind)."""
    return {
        html.unescape(m["name"]).strip(): (m["token"] if m["kind"] == "l" else f"/h/{m['token']}")
        for m in LINK_ROW.finditer(page)
    }


def request_key_from(page: str) -> str:
    m = re.search(r'name="request_key" type="hidden" value="([^"]*)"', page) or re.search(
        r'id="request_key" name="request_key" type="hidden" value="([^"]*)"', page
    )
    assert m, "no request_key on the assign form"
    return m.group(1)


def assign_http(
    client,
    case,
    questionnaire_id,
    *,
    partners=None,
    due_on="",
    ttl_days="30",
    instructions="",
    status=200,
):
    """Assign from the case page as a counselor would; returns (response, {name: token})."""
    form = client.get(f"/cases/{case.id}/assign")
    assert form.status_code == 200
    data = {
        "questionnaire": str(questionnaire_id),
        "partners": [str(p.id) for p in (partners if partners is not None else case.partners)],
        "due_on": due_on,
        "ttl_days": ttl_days,
        "instructions": instructions,
        "request_key": request_key_from(form.get_data(as_text=True)),
    }
    r = client.post(f"/cases/{case.id}/assign", data=data)
    assert r.status_code == status, r.get_data(as_text=True)[:2000]
    return r, links_from(r.get_data(as_text=True))


def practice_today():
    """Today in the practice's time zone (what due dates are judged against)."""
    from counselor.core.models import to_local, utcnow

    return to_local(utcnow()).date()


def intake_answers(**overrides) -> dict:
    """A complete intake with every screening answer reassuring (no alert) unless overridden."""
    # the demo's reassuring intake is the one complete, alert-free answer set
    answers = dict(DEMO_INTAKE)
    answers.update(overrides)
    return answers


def desire(
    roles: dict | None = None,
    *,
    limit: bool = False,
    limits: list[str] | None = None,
    fantasy: bool = False,
    experience: str = "",
    note: str = "",
) -> dict:
    """A desire answer as the portal stores it (``limit``: a hard limit on every answered role)."""
    roles = roles or {}
    if limits is None:
        limits = [k for k, v in roles.items() if v] if limit else []
    return {
        "roles": roles,
        "limits": limits,
        "fantasy": fantasy,
        "experience": experience,
        "note": note,
    }


#: the desire answers ``inventory_answers`` cycles through
ROLES = ("yes", "want_to_try", "if_partner", "maybe", "no")


def submitted(app, case, what, answers_for, owner_id=None):
    """``what`` assigned to every partner of ``case`` (as ``assign``), each partner answering
    through their own link and submitting ``answers_for(n)`` (n: their position); returns the
    assignment."""
    from tests.support.portal import open_link

    assignment, tokens = assign(case, what, owner_id=owner_id)
    for n, (name, token) in enumerate(tokens.items()):
        open_link(app.test_client(), token, name=name).answer_and_submit(answers_for(n))
    return assignment


def inventory_answers():
    """``answers_for`` of ``submitted`` for the inventory: every desire item answered, the
    answers cycling through ``ROLES`` by partner, item and role, with a hard limit on about
    one item in eleven (every class of the matrix occurs)."""
    items = None

    def answers(n):
        nonlocal items
        if items is None:
            defn = questionnaire(INVENTORY).latest.definition
            items = [i for i in defn.questions() if i["type"] == "desire"]
        return {
            i["link_id"]: desire(
                {r["key"]: ROLES[(n + k + j) % 5] for j, r in enumerate(i["roles"])},
                limit=(n + k) % 11 == 0,
            )
            for k, i in enumerate(items)
        }

    return answers


def small_definition(slug="small-check", **extra) -> dict:
    """A small own questionnaire with one required item and one of every common type."""
    doc = {
        "slug": slug,
        "title": "Small check",
        "purpose": "A short check used by the tests.",
        "kind": "check-in",
        "items": [
            {
                "link_id": "one",
                "type": "group",
                "text": "First part",
                "items": [
                    {
                        "link_id": "one.feel",
                        "type": "text",
                        "text": "How do you feel?",
                        "required": True,
                    },
                    {"link_id": "one.ok", "type": "boolean", "text": "Is the pace fine?"},
                    {
                        "link_id": "one.pace",
                        "type": "choice",
                        "text": "Pace",
                        "options": [
                            {"value": "slow", "label": "Slower"},
                            {"value": "same", "label": "Same"},
                        ],
                    },
                    {
                        "link_id": "one.rate",
                        "type": "scale",
                        "text": "Comfort",
                        "min": 0,
                        "max": 10,
                        "min_label": "none",
                        "max_label": "complete",
                    },
                    {
                        "link_id": "one.count",
                        "type": "integer",
                        "text": "How many times?",
                        "min": 0,
                        "max": 50,
                    },
                ],
            },
            {
                "link_id": "two",
                "type": "group",
                "text": "Second part",
                "items": [
                    {"link_id": "two.word", "type": "string", "text": "One word for it"},
                    {
                        "link_id": "two.touch",
                        "type": "desire",
                        "text": "Holding hands",
                        "roles": [{"key": "together", "label": "Together"}],
                    },
                ],
            },
        ],
    }
    doc.update(extra)
    return doc


def small_alert_definition(slug: str = "alert-check") -> dict:
    """An own questionnaire with a scale alert (>= 7) and a choice alert (!= "no")."""
    return {
        "slug": slug,
        "title": "Alert check",
        "purpose": "A short screening used by the tests.",
        "kind": "check-in",
        "items": [
            {
                "link_id": "check",
                "type": "group",
                "text": "Check",
                "items": [
                    {
                        "link_id": "check.feel",
                        "type": "text",
                        "text": "How are you?",
                        "share": "shared",
                    },
                    {
                        "link_id": "check.tired",
                        "type": "scale",
                        "text": "How tired are you?",
                        "min": 0,
                        "max": 10,
                        "min_label": "not at all",
                        "max_label": "exhausted",
                        "share": "counselor_only",
                        "alert": {
                            "operator": ">=",
                            "answer": 7,
                            "message": "ALERTMSG-tired: slow down the pace.",
                        },
                    },
                    {
                        "link_id": "check.pushed",
                        "type": "choice",
                        "text": "Did you feel pushed?",
                        "share": "counselor_only",
                        "options": [
                            {"value": "no", "label": "No"},
                            {"value": "a_bit", "label": "A bit"},
                            {"value": "yes", "label": "Yes"},
                        ],
                        "alert": {
                            "operator": "!=",
                            "answer": "no",
                            "message": "ALERTMSG-pushed: follow up privately.",
                        },
                    },
                ],
            }
        ],
    }
