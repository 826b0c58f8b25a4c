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
