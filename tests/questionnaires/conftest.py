"""Helpers and fixtures for the questionnaire, assignment, link and portal tests (issue 3).

Everything goes through the real database and, where a user would, through HTTP.
"""

from __future__ import annotations

import html
import json
import re
import uuid

import pytest
from sqlalchemy import select

from counselor.extensions import db
from tests.conftest import csrf_token_from, new_case  # noqa: F401 - re-exported for the tests
from tests.library_helpers import (  # noqa: F401
    assign_direct,
    open_portal,
    portal_csrf,
    questionnaire,
    revision_of,
    sync,
)

LINK_ROW = re.compile(
    r'<h2 class="h5 mb-1">(?P<name>[^<]+)</h2>.*?value="(?P<url>https?://[^"]+/l/(?P<token>[A-Za-z0-9_\-]+))"',
    re.S,
)


def links_from(page: str) -> dict[str, str]:
    """{partner display name: raw token} from the page that shows freshly issued links."""
    return {html.unescape(m["name"]).strip(): m["token"] for m in LINK_ROW.finditer(page)}


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


def open_link(client, token: str):
    """Open a personal link; asserts the landing swapped it for a session."""
    r = open_portal(client, token)
    assert r.status_code == 302, r.status_code
    assert r.headers["Location"].endswith("/p/")
    return r


def section(client, number: int):
    """GET a portal section; returns (html, csrf, revision)."""
    r = client.get(f"/p/s/{number}")
    assert r.status_code == 200, r.status_code
    page = r.get_data(as_text=True)
    return page, portal_csrf(page), revision_of(page)


def autosave(client, csrf: str, revision, answers, **kw):
    return client.post(
        "/p/autosave",
        data=json.dumps({"revision": revision, "answers": answers}),
        content_type="application/json",
        headers={"X-CSRF-Token": csrf},
        **kw,
    )


def response_of(assignment_id, partner_id):
    """The stored Response, read fresh from the database."""
    from counselor.questionnaires.models import Response

    db.session.expire_all()
    return db.session.scalar(
        select(Response).where(
            Response.assignment_id == assignment_id, Response.partner_id == partner_id
        )
    )


def partner_named(case, name: str):
    return next(p for p in case.partners if p.display_name == name)


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


def load_own(account, doc=None):
    """Store a definition as the counselor's own questionnaire; returns the Questionnaire."""
    from counselor.questionnaires.services import load_definition

    q, _ = load_definition(doc or small_definition(), account.id)
    db.session.commit()
    return q


@pytest.fixture
def library(app):
    """The built-in library, loaded."""
    sync()


def unique_canary(label: str) -> str:
    return f"CANARY-{label}-{uuid.uuid4().hex}"


def practice_today():
    """Today in the practice's time zone (what due dates are judged against)."""
    from counselor.core.models import to_local, utcnow

    return to_local(utcnow()).date()
