"""Helpers for the compare / release / alert / export tests (issue 4).

Partners answer through HTTP as a phone would: open the personal link, autosave JSON with
the portal CSRF token (the section page's ``data-csrf``), submit the review form. Counselors
use their own logged-in test clients. Everything runs on the real app and database.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from counselor.demo import INTAKE as DEMO_INTAKE
from counselor.extensions import db
from tests.library_helpers import (  # noqa: F401
    assign_direct,
    open_portal,
    portal_csrf,
    questionnaire,
    revision_of,
    sync,
)

INVENTORY = "desires-boundaries"
INTAKE = "intake"


def load_own(account, doc: dict):
    """Store a definition as the counselor's own questionnaire; returns the Questionnaire."""
    from counselor.questionnaires.services import load_definition

    q, _ = load_definition(doc, account.id)
    db.session.commit()
    return q


def assign(case, slug: str = INVENTORY, *, owner_id=None, partners=None):
    """Assign through the service and commit; returns (assignment, {partner name: raw token})."""
    return assign_direct(case, slug, owner_id=owner_id, partners=partners)


@dataclass
class PartnerBrowser:
    """A partner's phone: a test client holding the portal session of one link."""

    name: str
    client: object

    def state(self) -> tuple[str, int]:
        """(portal CSRF token, current revision) read from the first section page."""
        r = self.client.get("/p/s/1")
        assert r.status_code == 200, r.status_code
        page = r.get_data(as_text=True)
        return portal_csrf(page), revision_of(page)

    def autosave(self, answers: dict, *, expect: int = 200):
        csrf, revision = self.state()
        r = self.client.post(
            "/p/autosave",
            data=json.dumps({"revision": revision, "answers": answers}),
            content_type="application/json",
            headers={"X-CSRF-Token": csrf},
        )
        assert r.status_code == expect, r.get_data(as_text=True)[:1000]
        return r

    def submit(self, *, expect: int = 302):
        r = self.client.get("/p/review")
        assert r.status_code == 200
        page = r.get_data(as_text=True)
        r = self.client.post(
            "/p/submit", data={"csrf_token": portal_csrf(page), "revision": revision_of(page)}
        )
        assert r.status_code == expect, r.get_data(as_text=True)[:1000]
        return r

    def answer_and_submit(self, answers: dict):
        self.autosave(answers)
        return self.submit()

    def csrf(self) -> str:
        return self.state()[0]

    def get(self, path: str) -> str:
        r = self.client.get(path)
        assert r.status_code == 200, (path, r.status_code)
        return r.get_data(as_text=True)

    def every_page(self, defn) -> dict[str, str]:
        """The HTML of every page a partner can GET: overview, each section, review, shared."""
        paths = [
            "/p/",
            *(f"/p/s/{n}" for n in range(1, len(defn.sections) + 1)),
            "/p/review",
            "/p/shared",
        ]
        return {p: self.get(p) for p in paths}


def open_link(app, name: str, token: str) -> PartnerBrowser:
    """A new browser that opened a personal link (the landing swaps it for a session)."""
    client = app.test_client()
    r = open_portal(client, token)
    assert r.status_code == 302, r.status_code
    assert r.headers["Location"].endswith("/p/")
    return PartnerBrowser(name, client)


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


def canary(label: str) -> str:
    return f"CANARY-{label}-{uuid.uuid4().hex[:12]}"


def fresh(obj):
    """Re-read an object after requests changed it."""
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def intake_answers(**overrides) -> dict:
    """A complete intake with every screening answer reassuring (no alert) unless overridden."""
    # the demo's reassuring intake is the one complete, alert-free answer set
    answers = dict(DEMO_INTAKE)
    answers.update(overrides)
    return answers


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
