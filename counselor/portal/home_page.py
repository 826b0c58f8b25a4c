"""A partner's home: their homework in this case, sorted into to do, sent and shared, and the
cards other features add to it."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from counselor.extensions import db
from counselor.portal.context import PortalContext
from counselor.portal.services import closed_because
from counselor.questionnaires.models import Assignment, QuestionnaireVersion, Response


@dataclass
class HomeItem:
    """One homework on a partner's home: what it is, its state, where it opens."""

    assignment: Assignment
    response: Response
    title: str
    closed: str | None


@dataclass
class HomeCard:
    """A card another feature adds to the home (agreements, steps, check-ins).

    Register a provider ``PortalContext -> list[HomeCard]`` in
    ``app.extensions["portal_home_cards"]``; its cards are shown under the homework. What a
    card says is that feature's responsibility, through the partner filter.
    """

    title: str
    text: str
    #: the card's button (None: no button)
    url: str | None
    link_text: str
    #: lower comes first
    order: int = 100
    #: lines listed on the card itself, such as resources to read
    entries: list[HomeCardEntry] = field(default_factory=list)


@dataclass(frozen=True)
class HomeCardEntry:
    """One line of a home card: plain text, with an outside link when ``href`` is given (an
    http(s) address: the page shows a link and loads nothing from it)."""

    title: str
    detail: str = ""
    note: str = ""
    href: str | None = None


@dataclass
class HomeView:
    """What a partner's home lists, for that partner in that case only."""

    to_do: list[HomeItem] = field(default_factory=list)
    sent: list[HomeItem] = field(default_factory=list)
    shared: list[HomeItem] = field(default_factory=list)
    cards: list[HomeCard] = field(default_factory=list)


def home_view(pctx: PortalContext) -> HomeView:
    """The partner's homework in this case, sorted into to do, sent and shared, plus cards."""
    rows = db.session.execute(
        select(Assignment, Response)
        .join(Response, Response.assignment_id == Assignment.id)
        .options(
            joinedload(Assignment.version)
            .defer(QuestionnaireVersion.definition_json)
            .joinedload(QuestionnaireVersion.questionnaire)
        )
        .where(Assignment.case_id == pctx.case_id, Response.partner_id == pctx.partner_id)
        .order_by(Assignment.created_at.desc())
    ).all()
    view = HomeView()
    for assignment, response in rows:
        item = HomeItem(
            assignment,
            response,
            assignment.version.questionnaire.title,
            closed_because(assignment),
        )
        if assignment.released_at is not None:
            view.shared.append(item)
        if response.status == "submitted" or item.closed:
            view.sent.append(item)
        else:
            view.to_do.append(item)
    # due soonest first; homework without a due date after it
    view.to_do.sort(key=lambda i: (i.assignment.due_on is None, i.assignment.due_on or 0))
    for provider in current_app.extensions.get("portal_home_cards", ()):
        view.cards.extend(provider(pctx))
    view.cards.sort(key=lambda c: c.order)
    return view
