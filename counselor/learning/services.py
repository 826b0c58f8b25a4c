"""The resource library: a counselor's resources, the starter list, attachments, and what a
partner sees of them.

Ownership follows the questionnaires': a counselor reads and attaches their own resources and
those other counselors share with the practice; only the owner changes or deletes one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from flask import current_app
from flask_login import current_user
from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError

from counselor.cases.models import Case, Partner
from counselor.core import audit
from counselor.core.ownership import get_owned_or_404
from counselor.core.practice import valid_exit_url
from counselor.core.text import unstorable
from counselor.extensions import db
from counselor.learning.models import TARGETS, Resource, ResourceAttachment, ResourceShelf
from counselor.questionnaires.models import Assignment, Response
from counselor.questionnaires.services import starter_resources

#: the built-in exercise resources are attached to
LEARNING_SLUG = "learning-together"
MAX_TITLE = 300
MAX_SOURCE = 300
MAX_URL = 500
MAX_NOTE = 2000


class ResourceError(ValueError):
    """A resource or attachment that cannot be saved as asked (the message says why)."""


@dataclass
class ResourceInput:
    """What the counselor typed for a resource."""

    title: str
    source: str
    url: str = ""
    note: str = ""
    shared: bool = False


def _clean(value: str | None, limit: int, label: str, required: bool = False) -> str:
    text = " ".join((value or "").split()) if label != "note" else (value or "").strip()
    if required and not text:
        raise ResourceError(f"Give the resource a {label}.")
    if len(text) > limit:
        raise ResourceError(f"A {label} may hold at most {limit} characters.")
    if unstorable(text):
        raise ResourceError(f"The {label} holds a character that cannot be stored; retype it.")
    return text


def _checked(data: ResourceInput) -> dict:
    url = _clean(data.url, MAX_URL, "web address")
    if url and not valid_exit_url(url):
        raise ResourceError(
            "A web address starts with https:// or http://, for example https://example.org/book."
        )
    return {
        "title": _clean(data.title, MAX_TITLE, "title", required=True),
        "source": _clean(data.source, MAX_SOURCE, "author or source", required=True),
        "url": url or None,
        "note": _clean(data.note, MAX_NOTE, "note") or None,
        "shared": bool(data.shared),
    }


def _readable(counselor_id: uuid.UUID):
    return or_(Resource.owner_id == counselor_id, Resource.shared.is_(True))


def seed_starter(counselor_id: uuid.UUID) -> int:
    """Give a counselor's library the starter list, once; returns how many were added."""
    if db.session.get(ResourceShelf, counselor_id) is not None:
        return 0
    try:
        with db.session.begin_nested():
            db.session.add(ResourceShelf(counselor_id=counselor_id))
            db.session.flush()
    except IntegrityError:  # another request of the same counselor seeded it just now
        return 0
    entries = starter_resources()
    for e in entries:
        db.session.add(
            Resource(
                owner_id=counselor_id,
                title=e["title"],
                source=", ".join(e["authors"]) + (f" ({e['year']})" if e.get("year") else ""),
                note=e["note"],
            )
        )
    db.session.flush()
    return len(entries)


def library_of(counselor_id: uuid.UUID) -> list[Resource]:
    """A counselor's own resources and those others share, by title (the starter list given
    on first use)."""
    seed_starter(counselor_id)
    stmt = select(Resource).where(_readable(counselor_id)).order_by(Resource.title)
    return list(db.session.scalars(stmt))


def library() -> tuple[list[Resource], list[Resource]]:
    """(the current counselor's resources, those other counselors share), by title."""
    own, others = [], []
    for r in library_of(current_user.id):
        (own if r.owner_id == current_user.id else others).append(r)
    return own, others


def get_own_resource_or_404(resource_id: uuid.UUID) -> Resource:
    """One of the current counselor's own resources, else 404 (a shared one of another too)."""
    return get_owned_or_404(Resource, resource_id, owner=Resource.owner_id)


def create(data: ResourceInput) -> Resource:
    """Add a resource to the current counselor's library and flush."""
    resource = Resource(owner_id=current_user.id, **_checked(data))
    db.session.add(resource)
    db.session.flush()
    audit.record("resource.create", "learning_resource", resource.id)
    return resource


def update(resource: Resource, data: ResourceInput) -> None:
    """Change an own resource (partners it is attached for see the change) and flush."""
    for key, value in _checked(data).items():
        setattr(resource, key, value)
    db.session.flush()
    audit.record("resource.update", "learning_resource", resource.id)


def remove(resource: Resource) -> None:
    """Delete an own resource; it leaves every homework it was attached to."""
    db.session.execute(
        delete(ResourceAttachment).where(ResourceAttachment.resource_id == resource.id)
    )
    db.session.delete(resource)
    db.session.flush()
    audit.record("resource.delete", "learning_resource", resource.id)


def is_learning(assignment: Assignment) -> bool:
    """Whether resources can be attached to this assignment (the learning-together exercise)."""
    return assignment.version.questionnaire.slug == LEARNING_SLUG


def attached(target_kind: str, target_id: uuid.UUID) -> list[Resource]:
    """The resources attached to one assignment or step, by title."""
    return list(
        db.session.scalars(
            select(Resource)
            .join(ResourceAttachment, ResourceAttachment.resource_id == Resource.id)
            .where(
                ResourceAttachment.target_kind == target_kind,
                ResourceAttachment.target_id == target_id,
            )
            .order_by(Resource.title)
        )
    )


def set_attached(
    case: Case, target_kind: str, target_id: uuid.UUID, resource_ids: Iterable[uuid.UUID]
) -> list[Resource]:
    """Make exactly these resources (the case's counselor's own, or shared) the ones attached
    to an assignment or step of ``case``; flushes and returns them.

    The caller has checked that the target belongs to ``case`` (the steps feature calls this
    with its step's id and ``target_kind="step"``)."""
    if target_kind not in TARGETS:
        raise ResourceError(f"Resources attach to {' or '.join(TARGETS)}s only.")
    wanted = set(resource_ids)
    found = (
        set(
            db.session.scalars(
                select(Resource.id).where(Resource.id.in_(wanted), _readable(case.counselor_id))
            )
        )
        if wanted
        else set()
    )
    if found != wanted:
        raise ResourceError("One of the chosen resources is not in your library; reload the page.")
    rows = db.session.scalars(
        select(ResourceAttachment).where(
            ResourceAttachment.target_kind == target_kind,
            ResourceAttachment.target_id == target_id,
        )
    ).all()
    have = {r.resource_id: r for r in rows}
    for rid, row in have.items():
        if rid not in wanted:
            db.session.delete(row)
    for rid in wanted - set(have):
        db.session.add(
            ResourceAttachment(
                case_id=case.id, resource_id=rid, target_kind=target_kind, target_id=target_id
            )
        )
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:  # the same choice saved twice at once: the other request's stands
        raise ResourceError("These resources were just changed elsewhere; reload.") from None
    audit.record(f"resource.attach_{target_kind}", target_kind, target_id)
    return attached(target_kind, target_id)


@dataclass(frozen=True)
class PartnerResource:
    """What a partner sees of one attached resource: plain text and, if any, a link."""

    title: str
    source: str
    url: str | None
    note: str | None


def partner_resources(partner: Partner) -> list[PartnerResource]:
    """The resources attached to this partner's own homework (and to steps other features
    name for them through ``app.extensions["learning_partner_targets"]``), once each."""
    assignment_ids = (
        select(Assignment.id)
        .join(Response, Response.assignment_id == Assignment.id)
        .where(Assignment.case_id == partner.case_id, Response.partner_id == partner.id)
    )
    conditions = [
        (ResourceAttachment.target_kind == "assignment")
        & ResourceAttachment.target_id.in_(assignment_ids)
    ]
    for provider in current_app.extensions.get("learning_partner_targets", ()):
        ids = list(provider(partner))
        if ids:
            conditions.append(
                (ResourceAttachment.target_kind == "step") & ResourceAttachment.target_id.in_(ids)
            )
    rows = db.session.scalars(
        select(Resource)
        .join(ResourceAttachment, ResourceAttachment.resource_id == Resource.id)
        .where(ResourceAttachment.case_id == partner.case_id, or_(*conditions))
        .order_by(Resource.title)
        .distinct()
    )
    return [PartnerResource(r.title, r.source, r.url, r.note) for r in rows]
