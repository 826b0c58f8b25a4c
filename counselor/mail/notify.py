"""Counselor notifications: mail per event, or one daily digest, as each counselor chose."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError

from counselor.auth.models import Counselor
from counselor.cases.models import Case
from counselor.core import audit
from counselor.core.models import to_local, utcnow
from counselor.extensions import core_execute, db
from counselor.mail import compose, services
from counselor.mail.models import Digest, Notice, NotificationSetting
from counselor.questionnaires.schema import DEFAULT_SEVERITY

SEVERITY_ORDER = {s: n for n, s in enumerate(reversed(compose.SEVERITIES))}


#: a counselor's choices until they make some: every kind, one mail each
DEFAULT_CHOICES = {"submitted": True, "alert": True, "undeliverable": True, "digest": False}


def settings_for(counselor_id: uuid.UUID) -> NotificationSetting:
    """A counselor's choices; the defaults (every kind, one mail each) until they choose."""
    found = db.session.get(NotificationSetting, counselor_id)
    if found is not None:
        return found
    return NotificationSetting(counselor_id=counselor_id, **DEFAULT_CHOICES)


def save_settings(counselor_id: uuid.UUID, **choices: bool) -> NotificationSetting:
    """Store a counselor's choices (which kinds, and digest or one mail per event)."""
    setting = db.session.get(NotificationSetting, counselor_id)
    if setting is None:
        setting = NotificationSetting(counselor_id=counselor_id)
        db.session.add(setting)
    for kind in ("submitted", "alert", "undeliverable", "digest"):
        setattr(setting, kind, bool(choices.get(kind)))
    db.session.flush()
    audit.record("notifications.change", "counselor", counselor_id)
    return setting


def _case_url(case_id: uuid.UUID | None) -> str | None:
    return services.external_url("cases.show", case_id=case_id) if case_id else None


def _settings_url() -> str:
    return services.external_url("mail.notifications")


#: the notification setting that switches each kind of event on or off: a paused clause and
#: an agreement due for review are among what needs the counselor's attention ("alert")
SETTING_OF = {"paused": "alert", "review": "alert"}


def wanted(setting: NotificationSetting, kind: str) -> bool:
    """Whether a counselor's choices (``settings_for``) include events of this kind."""
    return bool(getattr(setting, SETTING_OF.get(kind, kind), True))


_COUNSELOR, _SETTING, _CASE = Counselor.__table__, NotificationSetting.__table__, Case.__table__
#: who an event's mail goes to and what they chose, as plain columns (no setting row: the
#: defaults of ``settings_for``)
_RECIPIENT = (
    _COUNSELOR.c.id,
    _COUNSELOR.c.email,
    _COUNSELOR.c.active,
    _SETTING.c.submitted,
    _SETTING.c.alert,
    _SETTING.c.undeliverable,
    _SETTING.c.digest,
)
_WITH_SETTING = _COUNSELOR.outerjoin(_SETTING, _SETTING.c.counselor_id == _COUNSELOR.c.id)
# Made once, as every hot statement (a statement built per call cost more than running it):
# by the counselor, or by a case (the counselor of the case, in the same read).
_RECIPIENT_BY_COUNSELOR = (
    select(*_RECIPIENT)
    .select_from(_WITH_SETTING)
    .where(_COUNSELOR.c.id == bindparam("counselor_id"))
)
_RECIPIENT_BY_CASE = (
    select(*_RECIPIENT)
    .select_from(_CASE.join(_WITH_SETTING, _COUNSELOR.c.id == _CASE.c.counselor_id))
    .where(_CASE.c.id == bindparam("case_id"))
)


#: ``_RECIPIENT``'s columns named for a statement that reads them beside other tables'
#: (``told_…``; ``told``): the notice sweep reads whom to tell with the submits it claimed
TOLD_COLUMNS = tuple(column.label(f"told_{column.name}") for column in _RECIPIENT)


def counselor_of_case(joined, case_id):
    """``joined`` (a FROM clause) with the counselor of the case ``case_id`` (a column of it)
    and their choices, for ``TOLD_COLUMNS``: outer joins, so a case without a counselor
    leaves the rest of the row as it is."""
    return joined.outerjoin(_CASE, _CASE.c.id == case_id).outerjoin(
        _WITH_SETTING, _COUNSELOR.c.id == _CASE.c.counselor_id
    )


def told(mapping) -> tuple:
    """``recipient``'s pair of a row's mapping with ``TOLD_COLUMNS``."""
    return recipient({column.name: mapping[f"told_{column.name}"] for column in _RECIPIENT})


def recipient(row) -> tuple:
    """(the counselor, their choices) of a row of ``_RECIPIENT``'s columns (or its mapping),
    or (None, None) when there is none."""
    found = row if row is None or isinstance(row, dict) else row._mapping
    if found is None or found["id"] is None:
        return None, None
    # no setting row: the defaults, as settings_for gives them
    counselor = SimpleNamespace(id=found["id"], email=found["email"], active=found["active"])
    return counselor, SimpleNamespace(
        **{k: v if found[k] is None else found[k] for k, v in DEFAULT_CHOICES.items()}
    )


def _recipient(counselor_id: uuid.UUID | None, case_id: uuid.UUID | None) -> tuple:
    """The counselor's id, email, whether active, and their choices, in one read: by the
    counselor, or by the case when the caller has only the case (alerts raised by a
    partner's answers)."""
    if counselor_id is None:
        return recipient(core_execute(_RECIPIENT_BY_CASE, {"case_id": case_id}).first())
    return recipient(core_execute(_RECIPIENT_BY_COUNSELOR, {"counselor_id": counselor_id}).first())


def _event(
    counselor_id: uuid.UUID | None,
    case_id: uuid.UUID | None,
    kind: str,
    severity: str | None = None,
    told: tuple | None = None,
) -> None:
    """One event for the counselor (``counselor_id``, or the counselor of ``case_id``; ``told``:
    ``recipient``'s pair, already read): a mail now, a notice for the digest, or nothing, as
    they chose."""
    mail = _mail(counselor_id, case_id, kind, severity, told)
    if mail is not None:
        services.add(mail[0], mail[1], case_id=case_id, counselor_id=mail[2])


def _mail(counselor_id, case_id, kind, severity, told) -> tuple | None:
    """``_event``'s mail to send now, as (mail, address, counselor's id); None when the
    counselor wants none now (a notice for their digest is added to the session here)."""
    counselor, setting = told or _recipient(counselor_id, case_id)
    if counselor is None or not wanted(setting, kind) or not counselor.active:
        return None
    if setting.digest:
        db.session.add(
            Notice(counselor_id=counselor.id, case_id=case_id, kind=kind, severity=severity)
        )
        return None
    if kind == "undeliverable":
        mail = compose.undeliverable(_case_url(case_id), _settings_url())
    else:
        mail = compose.notice(kind, _case_url(case_id), _settings_url(), severity)
    return mail, counselor.email, counselor.id


def submitted(case_id: uuid.UUID, told: tuple) -> None:
    """A partner of the case submitted homework: a mail to its counselor, a notice for their
    digest, or nothing, as they chose (``told``: ``recipient``'s pair). Made by the worker
    from the submit's mark (counselor.mail.submitted), never in the partner's request."""
    _event(None, case_id, "submitted", told=told)


#: alert severities worth a mail; an "info" alert waits on the case page
MAILED_SEVERITIES = ("urgent", "review")


def _severity_of(alert) -> str:
    # the severity stored on the alert row when it was raised: the same one the case page,
    # the caseload order and the PDF summary show (no re-reading of the definition)
    return alert.severity or DEFAULT_SEVERITY


def _worst(severities) -> str | None:
    known = [s for s in severities if s in SEVERITY_ORDER]
    return max(known, key=SEVERITY_ORDER.__getitem__) if known else None


def alerts_raised(assignment, alerts: list) -> None:
    """Alerts raised by a partner's answers (a submit, or a stop before one): one mail for
    the urgent or review ones, at the worst of their severities."""
    mailed = [s for s in map(_severity_of, alerts) if s in MAILED_SEVERITIES]
    if mailed:
        _event(None, assignment.case_id, "alert", _worst(mailed))


def partner_paused(case) -> None:
    """A partner paused a clause of an agreement, or a step: an urgent alert (nothing of
    what was paused)."""
    _event(case.counselor_id, case.id, "paused", "urgent")


def agreement_review(case) -> None:
    """An agreement of the case reached its review date (nothing of the agreement)."""
    _event(case.counselor_id, case.id, "review")


def undeliverable(counselor_id: uuid.UUID, case_id: uuid.UUID | None) -> None:
    """A mail sent on the counselor's behalf could not be delivered."""
    _event(counselor_id, case_id, "undeliverable")


# ---- the daily digest -------------------------------------------------------------------


def _news(notices: list[Notice]) -> list[compose.CaseNews]:
    by_case: dict = defaultdict(list)
    for notice in notices:
        by_case[notice.case_id].append(notice)
    news = []
    for case_id, items in by_case.items():
        news.append(
            compose.CaseNews(
                case_url=_case_url(case_id) or _settings_url(),
                submitted=sum(n.kind == "submitted" for n in items),
                alerts=sum(n.kind == "alert" for n in items),
                paused=sum(n.kind == "paused" for n in items),
                reviews=sum(n.kind == "review" for n in items),
                undeliverable=sum(n.kind == "undeliverable" for n in items),
                severity=_worst(n.severity for n in items if n.kind == "alert"),
            )
        )
    # Alerts first: what may need attention today leads the mail.
    return sorted(news, key=lambda n: (-n.paused, -n.alerts, -n.reviews, -n.submitted))


def digest_day() -> date | None:
    """The practice-local day a digest may be made for now (None before the digest hour)."""
    local = to_local(utcnow())
    return local.date() if local.hour >= current_app.config["COUNSELOR_MAIL_DIGEST_HOUR"] else None


def send_digests(day: date | None = None) -> int:
    """Make today's digest for every counselor with waiting notices; returns how many.

    Safe to run twice (or at once in two processes): a counselor's digest of a day is a
    unique row, so the second run finds it made and sends nothing.
    """
    day = day or digest_day()
    if day is None:
        return 0
    waiting = set(db.session.scalars(select(Notice.counselor_id).where(Notice.digest_id.is_(None))))
    made = 0
    for counselor_id in waiting:
        counselor = db.session.get(Counselor, counselor_id)
        digest = Digest(counselor_id=counselor_id, day=day)
        db.session.add(digest)
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()  # already made today; its notices wait for tomorrow
            continue
        db.session.execute(
            update(Notice)
            .where(Notice.counselor_id == counselor_id, Notice.digest_id.is_(None))
            .values(digest_id=digest.id)
            .execution_options(synchronize_session=False)
        )
        notices = list(db.session.scalars(select(Notice).where(Notice.digest_id == digest.id)))
        if notices and counselor is not None and counselor.active:
            message = services.queue(
                compose.digest(_news(notices), _settings_url()),
                counselor.email,
                counselor_id=counselor_id,
            )
            digest.message_id = message.id
            made += 1
        db.session.commit()
    return made
