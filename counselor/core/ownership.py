"""Ownership in one place: counselor-side lookups answer 404 for anything not owned.

Another counselor's object and a missing one give the same answer, so ids reveal nothing;
the denial is still written to the audit trail.
"""

from __future__ import annotations

import functools
import uuid
from functools import wraps

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import ColumnElement, bindparam, or_, select

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
    if shared is None:
        stmt = _owned(model, owner, tuple(via))
    else:  # made per request: not a key to keep
        stmt = _build_owned(model, owner, tuple(via), shared)
    obj = db.session.scalar(
        stmt.where(*where) if where else stmt, {"object_id": object_id, "owner_id": current_user.id}
    )
    if obj is None:
        audit.record_now("access.denied", model.__tablename__, object_id)
        abort(404)
    return obj


def _build_owned(model, owner: ColumnElement, via: tuple, shared: ColumnElement | None):
    """``model`` by id when ``owner`` is the counselor (or the row is ``shared``), the two
    given as parameters."""
    mine = owner == bindparam("owner_id")
    stmt = select(model).where(
        model.id == bindparam("object_id"), or_(mine, shared) if shared is not None else mine
    )
    for rel in via:
        stmt = stmt.join(rel)
    return stmt


@functools.lru_cache(maxsize=128)
def _owned(model, owner: ColumnElement, via: tuple):
    """``_build_owned`` without shared rows, built once per process for each model, owner and
    path (class attributes: a few dozen keys). Making a statement and its cache key costs more
    CPU than running it (README, "Where each page's CPU goes"), and every page of a case looks
    the case up."""
    return _build_owned(model, owner, via, None)
