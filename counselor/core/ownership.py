"""Ownership in one place: counselor-side lookups answer 404 for anything not owned.

Another counselor's object and a missing one give the same answer, so ids reveal nothing;
the denial is still written to the audit trail.
"""

from __future__ import annotations

import functools
import uuid
from functools import wraps
from typing import NoReturn

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
    load: tuple = (),
):
    """Load ``model`` by id only when ``owner`` equals the current counselor, else 404.

    ``via`` lists relationships to join from ``model`` up to the owning row; ``where`` adds
    conditions such as "this session belongs to that case"; ``shared`` marks rows every
    counselor may read (the built-in library); ``load`` holds loader options (module-level
    constants: they are part of the cached statement's key) for what the page reads of it.
    """
    if shared is None:
        stmt = _owned(model, owner, tuple(via), load)
    else:  # made per request: not a key to keep
        stmt = _build_owned(model, owner, tuple(via), shared, load)
    stmt = stmt.where(*where) if where else stmt
    params = {"object_id": object_id, "owner_id": current_user.id}
    # a joined eager load of a collection repeats the row: unique() folds them into one object
    obj = (
        db.session.scalars(stmt, params).unique().one_or_none()
        if load
        else db.session.scalar(stmt, params)
    )
    if obj is None:
        not_found(model.__tablename__, object_id)
    return obj


def not_found(table: str, object_id: uuid.UUID) -> NoReturn:
    """Answer 404 for a row of ``table`` the current counselor does not own (or that does not
    exist: the same answer), the denial written to the audit trail; for a page that checks
    ownership in its own statement's WHERE."""
    audit.record_now("access.denied", table, object_id)
    abort(404)


def _build_owned(
    model, owner: ColumnElement, via: tuple, shared: ColumnElement | None, load: tuple = ()
):
    """``model`` by id when ``owner`` is the counselor (or the row is ``shared``), the two
    given as parameters, with the loader options ``load``."""
    mine = owner == bindparam("owner_id")
    stmt = select(model).where(
        model.id == bindparam("object_id"), or_(mine, shared) if shared is not None else mine
    )
    for rel in via:
        stmt = stmt.join(rel)
    return stmt.options(*load) if load else stmt


@functools.lru_cache(maxsize=128)
def _owned(model, owner: ColumnElement, via: tuple, load: tuple):
    """``_build_owned`` without shared rows, built once per process for each model, owner,
    path and loader options (class attributes and module constants: a few dozen keys). Making
    a statement and its cache key costs more CPU than running it (README, "Where each page's
    CPU goes"), and every page of a case looks the case up."""
    return _build_owned(model, owner, via, None, load)
