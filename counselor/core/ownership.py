"""Ownership in one place: counselor-side lookups answer 404 for anything not owned.

Another counselor's object and a missing one give the same answer, so ids reveal nothing;
the denial is still written to the audit trail.
"""

from __future__ import annotations

import uuid
from functools import wraps

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import ColumnElement, or_, select

from counselor.core import audit
from counselor.extensions import db


def counselor_required(view):
    """Signed in as a counselor (an admin account holds no caseload and gets 403)."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if current_user.is_admin:
            audit.record_now("access.forbidden", "route", view.__name__)
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def admin_required(view):
    """Signed in as a practice admin."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            audit.record_now("access.forbidden", "route", view.__name__)
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def get_owned_or_404(
    model,
    object_id: uuid.UUID,
    *,
    owner: ColumnElement,
    via=(),
    where=(),
    shared: ColumnElement | None = None,
):
    """Load ``model`` by id only when ``owner`` equals the current counselor, else 404.

    ``via`` lists relationships to join from ``model`` up to the owning row; ``where`` adds
    conditions such as "this session belongs to that case"; ``shared`` marks rows every
    counselor may read (the built-in library).
    """
    mine = owner == current_user.id if shared is None else or_(owner == current_user.id, shared)
    stmt = select(model).where(model.id == object_id, mine, *where)
    for rel in via:
        stmt = stmt.join(rel)
    obj = db.session.scalar(stmt)
    if obj is None:
        audit.record_now("access.denied", model.__tablename__, object_id)
        abort(404)
    return obj
