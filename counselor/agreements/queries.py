"""Reading agreements: loading one, its row lock, and what follows from its rows (the
published versions, the version in force, the pauses that hold).

Every state change of an agreement first takes the agreement's row lock (``lock``): see
``counselor.agreements.services``.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from counselor.agreements.models import (
    Agreement,
    AgreementAck,
    AgreementPartner,
    AgreementVersion,
    ClausePause,
)
from counselor.cases.models import Case, Partner
from counselor.core.locking import lock_row
from counselor.core.ownership import get_owned_or_404
from counselor.extensions import db


def with_everything(stmt):
    """``stmt`` with each agreement's members and versions loaded at once."""
    return stmt.options(
        selectinload(Agreement.members),
        selectinload(Agreement.versions),
    )


def get_agreement_or_404(case: Case, agreement_id: uuid.UUID) -> Agreement:
    """An agreement of an owned case, else 404 (the same for another counselor's)."""
    return get_owned_or_404(
        Agreement,
        agreement_id,
        owner=Case.counselor_id,
        via=(Agreement.case,),
        where=(Agreement.case_id == case.id,),
    )


def lock(agreement: Agreement) -> Agreement:
    """Hold the agreement's row lock until the commit, with it, its versions, answers and
    pauses re-read (see the module's docstring)."""
    lock_row(
        Agreement,
        agreement.id,
        query=with_everything(select(Agreement)),
        children=[(AgreementVersion, AgreementVersion.agreement_id)],
    )
    return agreement


def _events(model, at, agreement: Agreement) -> list:
    """Every row of ``model`` (a partner's event) of the agreement, with its partner, oldest
    (by ``at``) first."""
    return list(
        db.session.scalars(
            select(model)
            .where(model.agreement_id == agreement.id)
            .options(selectinload(model.partner))
            .order_by(at, model.id)
        )
    )


def acks_of(agreement: Agreement) -> list[AgreementAck]:
    """Every answer given to the agreement, oldest first."""
    return _events(AgreementAck, AgreementAck.at, agreement)


def pauses_of(agreement: Agreement) -> list[ClausePause]:
    """Every pause of the agreement, oldest first."""
    return _events(ClausePause, ClausePause.paused_at, agreement)


def published(agreement: Agreement) -> list[AgreementVersion]:
    """The published versions, oldest first."""
    return [v for v in agreement.versions if v.published_at is not None]


def draft_of(agreement: Agreement) -> AgreementVersion | None:
    """The version the counselor is writing, if any."""
    return next((v for v in agreement.versions if v.published_at is None), None)


def version_by_id(agreement: Agreement, version_id) -> AgreementVersion | None:
    """One version of the agreement (None: not of this agreement)."""
    return next((v for v in agreement.versions if v.id == version_id), None)


def in_force(agreement: Agreement) -> AgreementVersion | None:
    """The version in force: the newest one every partner of the agreement agreed to."""
    return version_by_id(agreement, agreement.in_force_id) if agreement.in_force_id else None


def latest_answers(acks: list[AgreementAck]) -> dict[tuple, AgreementAck]:
    """(version id, partner id) -> that partner's latest answer to that version."""
    latest: dict[tuple, AgreementAck] = {}
    for ack in acks:
        latest[(ack.version_id, ack.partner_id)] = ack
    return latest


def compute_in_force(agreement: Agreement, acks: list[AgreementAck]) -> uuid.UUID | None:
    """The newest published version whose every partner's latest answer is "agree"."""
    latest = latest_answers(acks)
    members = agreement.partner_ids
    for version in reversed(published(agreement)):
        if members and all(
            (a := latest.get((version.id, pid))) is not None and a.answer == "agree"
            for pid in members
        ):
            return version.id
    return None


def active_pauses(pauses: list[ClausePause]) -> list[ClausePause]:
    """Pauses not lifted."""
    return [p for p in pauses if p.lifted_at is None]


def agreements_of_partner(partner: Partner) -> list[Agreement]:
    """The agreements a partner is in that have a published version (the only ones they see)."""
    found = db.session.scalars(
        with_everything(select(Agreement))
        .join(AgreementPartner, AgreementPartner.agreement_id == Agreement.id)
        .where(AgreementPartner.partner_id == partner.id, Agreement.case_id == partner.case_id)
        .order_by(Agreement.created_at)
    )
    return [a for a in found if published(a)]


def for_partner(partner: Partner, agreement_id: uuid.UUID) -> Agreement | None:
    """One agreement the partner is in and may see, else None (the caller's 404 says no more)."""
    return next((a for a in agreements_of_partner(partner) if a.id == agreement_id), None)


def latest_published(agreement: Agreement) -> AgreementVersion:
    return published(agreement)[-1]


def partner_names(agreement: Agreement) -> dict[uuid.UUID, str]:
    return {p.id: p.display_name for p in agreement.case.partners}
