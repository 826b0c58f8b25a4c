"""Who a portal request is for: the partner of a portal session (resolved from the link, home
or sign-in mail that opened it), one assignment of theirs, and the record of their opening a
link, a home or a homework."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import and_, select
from sqlalchemy.orm import joinedload

from counselor.cases import homes
from counselor.cases.models import Case, Partner, PartnerHome
from counselor.core import audit
from counselor.core.models import aware, utcnow
from counselor.core.tokens import token_hash
from counselor.extensions import db
from counselor.questionnaires import engine
from counselor.questionnaires.models import Assignment, Link, QuestionnaireVersion, Response


@dataclass
class PortalContext:
    """One partner of one case, resolved from the portal session: what every page works with.

    Features add pages on it (``ctx.partner``, ``ctx.case``); everything they show a partner
    still goes through the one partner filter (counselor.reveal.services.view_for_partner).
    """

    partner: Partner
    home: PartnerHome

    @property
    def case(self) -> Case:
        return self.partner.case


@dataclass
class PartnerContext:
    """One assignment of the session's partner: what the homework pages work with."""

    portal: PortalContext
    assignment: Assignment
    response: Response

    @property
    def definition(self) -> engine.Definition:
        return self.assignment.definition

    @property
    def partner(self) -> Partner:
        return self.portal.partner

    @property
    def case(self) -> Case:
        return self.portal.partner.case

    @property
    def home(self) -> PartnerHome:
        return self.portal.home


def _valid(link: Link | None) -> bool:
    return link is not None and link.revoked_at is None and aware(link.expires_at) > utcnow()


def link_for_token(token: str) -> Link | None:
    """The working per-assignment link for a raw token; None for unknown, expired and revoked."""
    if not token or len(token) > 128:
        return None
    link = db.session.scalar(select(Link).where(Link.token_hash == token_hash(token)))
    return link if _valid(link) else None


def _source_works(ps, home: PartnerHome, link: Link | None) -> bool:
    """Whether what opened the session still works (else the session is over)."""
    if ps.link_id is not None:
        return _valid(link)
    gen = ps.home_generation or ""
    if gen.startswith(homes.FROM_HOME):
        return homes.home_link_state(home) == "active" and gen == homes.generation(
            home, homes.FROM_HOME
        )
    if gen.startswith(homes.FROM_MAIL):
        # a mail's session ends when the counselor revokes or reissues the home link
        return home.revoked_at is None and gen == homes.generation(home, homes.FROM_MAIL)
    return False


def portal_context(ps) -> PortalContext | None:
    """The partner of a portal session, if the link that opened it still works (else None)."""
    # One statement: the partner, their case, their home and the link that opened the session
    # (none when the home or a mail's sign-in link did).
    row = db.session.execute(
        select(Partner, PartnerHome, Link)
        .options(joinedload(Partner.case))
        .outerjoin(PartnerHome, PartnerHome.partner_id == Partner.id)
        .outerjoin(Link, and_(Link.id == ps.link_id, Link.partner_id == Partner.id))
        .where(Partner.id == ps.partner_id)
    ).first()
    if row is None:
        return None
    partner, home, link = row
    home = home or homes.home_of(partner)
    if not _source_works(ps, home, link):
        return None
    return PortalContext(partner, home)


def assignment_context(pctx: PortalContext, assignment_id) -> PartnerContext | None:
    """One assignment of this partner in this case; None for anything else (the same 404)."""
    if not isinstance(assignment_id, uuid.UUID):
        return None
    # One statement for what every homework page needs: assignment, response and the
    # version's id and checksum (its parsed definition is cached per process, so the JSON
    # text is read only when this process has not parsed that version yet).
    row = db.session.execute(
        select(Assignment, Response)
        .join(Response, Response.assignment_id == Assignment.id)
        .options(
            joinedload(Assignment.version).defer(QuestionnaireVersion.definition_json),
        )
        .where(
            Assignment.id == assignment_id,
            Assignment.case_id == pctx.partner.case_id,
            Response.partner_id == pctx.partner.id,
        )
    ).first()
    if row is None:
        return None
    return PartnerContext(pctx, row[0], row[1])


def open_link(link: Link) -> None:
    """Record that the partner opened a per-assignment link."""
    link.last_used_at = utcnow()


def open_assignment(ctx: PartnerContext) -> None:
    """Record that the partner opened this homework (the counselor sees "Opened")."""
    if ctx.response.status == "not_opened":
        ctx.response.status = "opened"
        ctx.response.opened_at = utcnow()
        audit.by_partner(ctx.partner.id, "portal.open", "response", ctx.response.id)


def open_home(pctx: PortalContext) -> None:
    """Record that the partner opened their home (the counselor sees when, last)."""
    pctx.home.last_opened_at = utcnow()
    audit.by_partner(pctx.partner.id, "portal.home_open")
