"""Resources of a counselor's library and their attachments to homework (or steps).

A resource belongs to one counselor; shared, every counselor of the practice may attach it
(only its owner changes it). Titles and notes are references, not clinical text; the
attachment holds ids only.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, String, Text, UniqueConstraint, Uuid, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from counselor.core.models import Timestamps, UUIDPrimaryKey, cascade_key, one_of, stamped
from counselor.extensions import db

#: what a resource can be attached to (steps: a helper of the steps feature attaches them)
TARGETS = ("assignment", "step")


class Resource(UUIDPrimaryKey, Timestamps, db.Model):
    """A book, article, course or workshop in a counselor's library."""

    __tablename__ = "learning_resource"

    owner_id: Mapped[uuid.UUID] = cascade_key("counselor.id")
    title: Mapped[str] = mapped_column(String(300))
    #: the author or authors, or the source (publisher, organisation, course provider)
    source: Mapped[str] = mapped_column(String(300))
    #: an http(s) address partners may follow (a link only: no page loads anything from it)
    url: Mapped[str | None] = mapped_column(String(500))
    #: what partners read under the title: why it may help
    note: Mapped[str | None] = mapped_column(Text)
    #: every counselor of the practice may attach it (only the owner changes it)
    shared: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ResourceShelf(db.Model):
    """That a counselor's library was given the starter list (once, so deleting the starter
    titles does not bring them back)."""

    __tablename__ = "learning_shelf"

    counselor_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, db.ForeignKey("counselor.id", ondelete="CASCADE"), primary_key=True
    )
    seeded_at: Mapped[datetime] = stamped()


class ResourceAttachment(UUIDPrimaryKey, db.Model):
    """A resource attached to one assignment (or step) of a case."""

    __tablename__ = "learning_attachment"
    __table_args__ = (
        UniqueConstraint("resource_id", "target_kind", "target_id", name="uq_learning_attachment"),
        one_of("target_kind", TARGETS),
    )

    case_id: Mapped[uuid.UUID] = cascade_key("case.id")
    resource_id: Mapped[uuid.UUID] = cascade_key("learning_resource.id")
    target_kind: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    created_at: Mapped[datetime] = stamped()

    resource: Mapped[Resource] = relationship()
