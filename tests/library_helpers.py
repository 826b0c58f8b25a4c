"""Helpers shared by the questionnaire, portal and reveal tests (a plain module, not a conftest)."""

from __future__ import annotations

import re

from sqlalchemy import select

from counselor.extensions import db


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


def portal_csrf(page: str) -> str:
    """The portal's own CSRF token from a portal page."""
    m = re.search(r'data-csrf="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert m, "no portal CSRF token on page"
    return m.group(1)


def revision_of(page: str) -> int:
    """The response revision a portal form starts from."""
    m = re.search(r'name="revision" value="(\d+)"', page)
    assert m, "no revision on page"
    return int(m.group(1))


def assign_direct(
    case, slug="desires-boundaries", *, partners=None, due_on=None, ttl_days=None, owner_id=None
):
    """Assign through the service (no HTTP) and commit; returns (assignment, {name: token})."""
    from counselor.questionnaires import services

    q = questionnaire(slug, owner_id)
    assert q is not None, f"questionnaire {slug} not loaded"
    assignment, issued = services.assign(
        case,
        q.latest,
        [p.id for p in partners] if partners else [],
        due_on=due_on,
        instructions=None,
        ttl_days=ttl_days,
    )
    db.session.commit()
    return assignment, {i.partner.display_name: i.token for i in issued}


def landing_csrf(page: str) -> str:
    """The CSRF token of the landing page's button."""
    m = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert m, "no button form on the landing page"
    return m.group(1)


def open_portal(client, token: str, **request_kwargs):
    """Open a personal link as a person does: GET the landing page, press its button.

    Returns the POST's response (a redirect to the portal with the portal cookie set).
    """
    page = client.get(f"/l/{token}", **request_kwargs)
    assert page.status_code == 200, page.status_code
    return client.post(
        f"/l/{token}",
        data={"csrf_token": landing_csrf(page.get_data(as_text=True))},
        **request_kwargs,
    )
