"""Consent text versions and partners' acknowledgements.

The practice's text lives in numbered versions; saving a changed text makes a new version,
and a partner who acknowledged an older one is asked again (an old acknowledgement never
counts for a newer text). Until an admin saves one, the built-in default below is stored as
version 1 the first time anyone needs it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError

from counselor.cases.models import Case, Partner
from counselor.consent.models import ConsentAck, ConsentText, text_hash
from counselor.core import audit
from counselor.core.models import to_local, utcnow
from counselor.core.text import unstorable
from counselor.extensions import db
from counselor.questionnaires.models import (
    Assignment,
    Questionnaire,
    QuestionnaireVersion,
    Response,
)

#: the consent text until the practice saves its own (its jurisdiction's duties belong in it)
DEFAULT_CONSENT_TEXT = """\
Before you begin, please take a few minutes to read this. It explains what stays private, \
when your counselor may have to share something, and how things you tell your counselor on \
your own are handled when you come with a partner or partners. If anything is unclear, ask \
your counselor before you go on. There is no rush.

What stays private
What you write here and say in sessions is confidential. Your counselor keeps it securely \
and does not share it without your permission, except in the situations described below. \
Your partner or partners never see your private answers. They see only what you have in \
common, and only after your counselor has decided to share it.

When your counselor may have to share information
Your counselor may have to share information, even without your permission, when:
- someone's life or safety is at serious and immediate risk, including your own;
- a child, or an adult who cannot protect themselves, is being harmed or is at risk of harm;
- a court orders it, or the law otherwise requires it.
If this happens, your counselor shares only what is needed and, wherever it is safe and \
possible, talks with you about it first.

Mandated reporting
Counselors are required by law to report suspected abuse or neglect of a child, and in many \
places of an older or dependent adult. The exact duties depend on where your counselor \
practises. You are welcome to ask what they are here.

What you tell your counselor on your own
When counseling involves more than one person, your counselor works with your relationship \
as a whole. If you tell your counselor something on your own, in a questionnaire, a message \
or a session alone, your counselor will not repeat it to your partner or partners. Your \
counselor will also not keep a secret that would make the work dishonest or unsafe for \
someone, for example a risk to a partner's health. If that happens, your counselor will help \
you find a way to share it yourself, in your own time, or talk with you about pausing or \
changing the counseling. Anything about your own safety, such as being afraid of a partner, \
always stays between you and your counselor.

Your choices
Taking part is your choice. You can skip any question, answer "I'd rather talk about it in \
person", ask questions at any time, and stop the counseling whenever you wish.

By typing your name and today's date below, you say that you have read this and that you \
agree to work together on this basis.
"""

MAX_TEXT = 20_000
MAX_NAME = 200


class ConsentError(ValueError):
    """A change or an acknowledgement that cannot be made as asked (the message says why)."""


class StaleText(ConsentError):
    """The text the partner read is no longer the practice's current version."""


def _normal(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").split("\n")).strip()


def _newest() -> ConsentText | None:
    return db.session.scalar(select(ConsentText).order_by(ConsentText.number.desc()).limit(1))


def _store(number: int, text: str, admin_id: uuid.UUID | None) -> ConsentText | None:
    """Insert version ``number`` inside a savepoint; None when that number was just taken."""
    row = ConsentText(number=number, text=text, text_hash=text_hash(text), created_by_id=admin_id)
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        return None
    return row


def current_text() -> ConsentText:
    """The practice's consent text in force (the default stored as version 1 if none yet)."""
    row = _newest()
    if row is None:
        row = _store(1, _normal(DEFAULT_CONSENT_TEXT), None) or _newest()
    return row


def versions() -> list[ConsentText]:
    """Every version, newest first."""
    return list(db.session.scalars(select(ConsentText).order_by(ConsentText.number.desc())))


def save_text(text: str, admin_id: uuid.UUID) -> ConsentText | None:
    """Store ``text`` as the next version (None: unchanged, nothing stored) and flush."""
    text = _normal(text or "")
    if not text:
        raise ConsentError("The consent text cannot be empty. To start again, paste the default.")
    if len(text) > MAX_TEXT:
        raise ConsentError(f"The consent text may hold at most {MAX_TEXT:,} characters.")
    if unstorable(text):
        raise ConsentError("The text holds a character that cannot be stored; retype it.")
    newest = current_text()
    if newest.text == text:
        return None
    row = _store(newest.number + 1, text, admin_id)
    if row is None:
        raise ConsentError(
            "Someone saved a new version at the same moment. Reload the page, read it, and "
            "save again if yours is still needed."
        )
    audit.record("consent.text_saved", "consent_text", row.id)
    return row


@dataclass(frozen=True)
class PartnerConsent:
    """Where one partner stands with the practice's consent text."""

    partner: Partner
    current: ConsentText
    #: the partner's newest acknowledgement (of any version), None if none
    latest: ConsentAck | None

    @property
    def done(self) -> bool:
        """The partner acknowledged the current version."""
        return self.latest is not None and self.latest.text_id == self.current.id

    @property
    def older(self) -> bool:
        """The partner acknowledged only an older version."""
        return self.latest is not None and not self.done

    @property
    def current_number(self) -> int:
        return self.current.number

    @property
    def latest_number(self) -> int | None:
        return self.latest.version.number if self.latest is not None else None

    @property
    def signed_on(self) -> date | None:
        return self.latest.signed_on if self.latest is not None else None


@dataclass(frozen=True)
class ConsentLine:
    """What the case page shows of one partner's consent (``consent/_status.html``), read
    with the partner's row (``partner_columns``): numbers and a date, no text."""

    current_number: int
    #: the newest version the partner acknowledged (None: none)
    latest_number: int | None
    #: the date they typed on that acknowledgement
    signed_on: date | None

    @property
    def done(self) -> bool:
        return self.latest_number == self.current_number

    @property
    def older(self) -> bool:
        return self.latest_number is not None and not self.done


def partner_columns(partner_id) -> tuple:
    """Columns to read with a partner's row (``partner_id``: its id column) for a
    ``ConsentLine``: the current version's number, the newest version the partner
    acknowledged and the date typed on that acknowledgement."""
    _t, _a = ConsentText.__table__.c, ConsentAck.__table__.c
    acked = (
        select(_t.number, _a.signed_on)
        .join_from(ConsentAck.__table__, ConsentText.__table__, _t.id == _a.text_id)
        .where(_a.partner_id == partner_id)
        .order_by(_t.number.desc())
        .limit(1)
    )
    return (
        select(func.max(_t.number)).scalar_subquery().label("consent_current"),
        acked.with_only_columns(_t.number).scalar_subquery().label("consent_latest"),
        acked.with_only_columns(_a.signed_on).scalar_subquery().label("consent_signed_on"),
    )


def line(row) -> ConsentLine:
    """A partner's ``ConsentLine`` from a row read with ``partner_columns``."""
    current = row.consent_current
    if current is None:  # no version stored yet: the default becomes version 1, as elsewhere
        current = current_text().number
    return ConsentLine(current, row.consent_latest, row.consent_signed_on)


def _latest_acks(partner_ids: list[uuid.UUID]) -> dict[uuid.UUID, ConsentAck]:
    if not partner_ids:
        return {}
    rows = db.session.execute(
        select(ConsentAck, ConsentText.number)
        .join(ConsentText, ConsentText.id == ConsentAck.text_id)
        .where(ConsentAck.partner_id.in_(partner_ids))
        .order_by(ConsentText.number, ConsentAck.acknowledged_at)
    ).all()
    return {ack.partner_id: ack for ack, _ in rows}  # the newest version's wins


def status_of(partner: Partner) -> PartnerConsent:
    """Where this partner stands with the current consent text."""
    return PartnerConsent(partner, current_text(), _latest_acks([partner.id]).get(partner.id))


# Built once per process: making a statement and its cache key costs more CPU than running it
# (README, "Where each page's CPU goes").
_CASE_STATUS = (
    select(ConsentText, ConsentAck)
    .outerjoin(
        ConsentAck,
        (ConsentAck.text_id == ConsentText.id)
        & ConsentAck.partner_id.in_(bindparam("ids", expanding=True)),
    )
    .order_by(ConsentText.number.desc(), ConsentAck.acknowledged_at.desc())
)


def case_status(case: Case) -> list[PartnerConsent]:
    """Each partner of the case with their consent status, in case order (one read: every
    version, newest first, with the acknowledgements of these partners)."""
    rows = db.session.execute(_CASE_STATUS, {"ids": [p.id for p in case.partners]}).all()
    current = rows[0][0] if rows else current_text()
    acks: dict[uuid.UUID, ConsentAck] = {}
    for _, ack in rows:
        if ack is not None:
            acks.setdefault(ack.partner_id, ack)  # the newest version's comes first
    return [PartnerConsent(p, current, acks.get(p.id)) for p in case.partners]


def history(case: Case) -> list[ConsentAck]:
    """Every acknowledgement in the case, newest first, with its version."""
    return list(
        db.session.scalars(
            select(ConsentAck)
            .where(ConsentAck.case_id == case.id)
            .order_by(ConsentAck.acknowledged_at.desc())
        )
    )


def local_today(now: datetime | None = None) -> date:
    """Today in the practice's time zone."""
    return to_local(now or utcnow()).date()


def acknowledge(
    partner: Partner, text_id: uuid.UUID | None, typed_name: str, signed_on: date | None
) -> ConsentAck:
    """Record that ``partner`` read version ``text_id`` and agreed, by typed name and date;
    flushes. Acknowledging the same version twice keeps the first."""
    if text_id is None:
        raise ConsentError("This page was open too long. Reload it and try again.")
    current = current_text()
    if text_id != current.id:
        raise StaleText(
            "Your counselor's practice has just updated this text. Please read the new "
            "version below; nothing was saved."
        )
    name = " ".join((typed_name or "").split())
    if not name:
        raise ConsentError("Type your name to say you have read this.")
    if len(name) > MAX_NAME or unstorable(name):
        raise ConsentError(f"Type your name in at most {MAX_NAME} ordinary characters.")
    today = local_today()
    if signed_on is None:
        raise ConsentError("Type today's date.")
    # a day either side: the partner's own time zone may be ahead of or behind the practice's
    if abs((signed_on - today).days) > 1:
        raise ConsentError(f"Type today's date ({today.isoformat()}).")
    existing = _ack(partner.id, current.id)
    if existing is not None:
        return existing
    ack = ConsentAck(
        case_id=partner.case_id,
        partner_id=partner.id,
        text_id=current.id,
        text_hash=current.text_hash,
        typed_name=name,
        signed_on=signed_on,
    )
    try:
        with db.session.begin_nested():
            db.session.add(ack)
    except IntegrityError:  # the same partner's other tab got there first
        return _ack(partner.id, current.id)
    audit.by_partner(partner.id, "consent.acknowledge", "consent_ack", ack.id)
    return ack


def _ack(partner_id: uuid.UUID, text_id: uuid.UUID) -> ConsentAck | None:
    return db.session.scalar(
        select(ConsentAck).where(ConsentAck.partner_id == partner_id, ConsentAck.text_id == text_id)
    )


def ack_count(text_id: uuid.UUID) -> int:
    """How many acknowledgements name this version (the practice page shows it)."""
    return db.session.scalar(
        select(func.count()).select_from(ConsentAck).where(ConsentAck.text_id == text_id)
    )


def has_intake(partner: Partner) -> bool:
    """Whether the partner was given an intake (their home then asks for consent)."""
    stmt = (
        select(Response.id)
        .join(Assignment, Assignment.id == Response.assignment_id)
        .join(QuestionnaireVersion, QuestionnaireVersion.id == Assignment.version_id)
        .join(Questionnaire, Questionnaire.id == QuestionnaireVersion.questionnaire_id)
        .where(Response.partner_id == partner.id, Questionnaire.kind == "intake")
        .limit(1)
    )
    return db.session.scalar(stmt) is not None


@dataclass(frozen=True)
class Block:
    """One paragraph of a consent text as a page shows it: an optional heading, then its parts
    in order, each ("text", lines) or ("list", items written "- ...")."""

    heading: str
    parts: list[tuple[str, list[str]]]


def blocks(text: str) -> list[Block]:
    """The text's paragraphs (blank-line separated); a short first line without closing
    punctuation, followed by more, reads as the paragraph's heading."""
    out = []
    for para in (p for p in text.split("\n\n") if p.strip()):
        lines = [line.strip() for line in para.strip().split("\n")]
        heading = ""
        if len(lines) > 1 and len(lines[0]) <= 80 and not lines[0].endswith((".", ":", ";", ",")):
            heading, lines = lines[0], lines[1:]
        parts: list[tuple[str, list[str]]] = []
        for line in lines:
            kind = "list" if line.startswith("- ") else "text"
            value = line[2:].strip() if kind == "list" else line
            if parts and parts[-1][0] == kind:
                parts[-1][1].append(value)
            else:
                parts.append((kind, [value]))
        out.append(Block(heading, parts))
    return out
