"""The outbox: queueing messages, publishing after commit, claiming, sending, retrying."""

from __future__ import annotations

import logging
import re
import uuid
from datetime import datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

from flask import current_app, has_app_context
from sqlalchemy import bindparam, event, or_, select, update
from sqlalchemy.orm import Session, make_transient_to_detached

from counselor.auth.models import Counselor
from counselor.cases import homes
from counselor.cases.models import Partner
from counselor.core import audit
from counselor.core.lease import Lease
from counselor.core.models import utcnow
from counselor.core.precompiled import Precompiled
from counselor.extensions import db, session_connection
from counselor.mail import compose, drain, transport
from counselor.mail.models import Message
from counselor.worker import sender

log = logging.getLogger(__name__)

SEND_TASK = "counselor.mail.tasks.send_message"
#: session.info key: this transaction queued mail to send now, and what to do about the
#: outbox's drain once it commits (counselor.mail.drain)
_TO_PUBLISH = "counselor_mail_to_publish"
#: the longest wait between two tries of one message
MAX_BACKOFF_SECONDS = 3600

#: a worker claims a message for sending under a lease (counselor.core.lease)
LEASE = Lease(
    Message,
    waiting="queued",
    working="sending",
    lease_setting="COUNSELOR_MAIL_LEASE_SECONDS",
    republish_setting="COUNSELOR_MAIL_REPUBLISH_SECONDS",
)
#: a link in a development mail, made clickable on its page
URL = re.compile(r"(https?://[^\s<>\"]+)")


# ---- queueing ---------------------------------------------------------------------------


def queue(
    mail: compose.Mail,
    recipient: str,
    *,
    case_id: uuid.UUID | None = None,
    partner_id: uuid.UUID | None = None,
    counselor_id: uuid.UUID | None = None,
    not_before: datetime | None = None,
) -> Message:
    """Write a message row (``add``); returns the message as written (not in the session: it
    was inserted through Core)."""
    row = _add(mail, recipient, case_id, partner_id, counselor_id, not_before)
    message = Message(**row)  # every column set: it answers for each without a session
    make_transient_to_detached(message)  # the row exists: never inserted again
    return message


def add(
    mail: compose.Mail,
    recipient: str,
    *,
    case_id: uuid.UUID | None = None,
    counselor_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Write a message row; a worker is asked to send it once the transaction commits. Returns
    its id (``queue`` returns the message).

    A message ``not_before`` a time (quiet hours, ``queue``) waits in the outbox: beat
    publishes it once that time has come.
    """
    return _add(mail, recipient, case_id, None, counselor_id, None)["id"]


def _add(mail, recipient, case_id, partner_id, counselor_id, not_before) -> dict:
    row = _row(mail, recipient, case_id, partner_id, counselor_id, not_before)
    if db.session.new:
        db.session.flush()  # the rows it refers to (a case, a partner) are written first
    if session_connection().dialect.name == "postgresql":
        # the row and its audit event in one statement: one round trip instead of two
        event = audit.event_parameters("mail.queue", "message", row["id"], actor_kind="system")
        _INSERT_AUDITED.run({**row, **event})
    else:
        # compiled once with every column: a column a new message leaves empty is bound as
        # NULL by the precompiled form at no cost worth naming (SQLAlchemy's execution bound
        # and processed each of them: a tenth of a submit's mail on SQLite)
        _INSERT_ROW.run(row)
        audit.record("mail.queue", "message", row["id"], actor_kind="system")
    if not_before is None:
        written()
    return row


def _row(mail, recipient, case_id, partner_id, counselor_id, not_before) -> dict:
    now = utcnow()
    mid = uuid.uuid4()
    # the row's columns sealed as assigning the attributes seals them, written with one Core
    # INSERT on the session's connection (the same transaction): the ORM's unit of work, and
    # building the object to write, cost more than the rest of queueing
    return {
        **_EMPTY,
        "id": mid,
        "kind": mail.kind,
        "recipient_sealed": Message.recipient.seal(recipient, mid),
        "subject": mail.subject,
        "body_sealed": Message.body.seal(mail.body, mid),
        "case_id": case_id,
        "partner_id": partner_id,
        "counselor_id": counselor_id,
        "next_attempt_at": not_before,
        # Optimistic: if publishing fails after the commit, beat republishes it later.
        "published_at": None if not_before else now,
        "created_at": now,
    }


def written() -> None:
    """A message to send now is written in the session's transaction: the outbox's drain is
    asked for once it commits (``_publish_after_commit``)."""
    if _TO_PUBLISH not in db.session.info:
        db.session.info[_TO_PUBLISH] = drain.asked()


_INSERT = Message.__table__.insert()
#: ``_INSERT`` of a whole row (``_row``'s columns), compiled once
_INSERT_ROW = Precompiled(_INSERT, keys=[column.key for column in Message.__table__.c])
#: PostgreSQL: the same with the message's ``mail.queue`` audit event (``audit.with_event``)
_INSERT_AUDITED = Precompiled(
    audit.with_event(
        _INSERT.values(
            {column.key: bindparam(column.key, type_=column.type) for column in Message.__table__.c}
        ).returning(Message.__table__.c.id)
    )
)
#: a new message's columns before it is filled in
_EMPTY = {
    **{column.key: None for column in Message.__table__.columns},
    "status": "queued",
    "attempts": 0,
}


@event.listens_for(Session, "after_commit")
def _publish_after_commit(session: Session) -> None:
    """A worker must never look for a message the database does not hold yet: the drain is
    asked for once the messages are committed (one drain for all of them, or none when one
    is pending)."""
    what = session.info.pop(_TO_PUBLISH, None)
    if what and has_app_context():
        drain.committed(what)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_TO_PUBLISH, None)


def publish(message_id: uuid.UUID) -> bool:
    """Hand a message's own task to the broker (beat's sweep does, for a message not sent
    after the republish wait); False (nothing raised) when it is unreachable."""
    try:
        sender(current_app, SEND_TASK).send(str(message_id))
    except Exception as exc:  # noqa: BLE001 - any broker failure means "beat publishes later"
        log.warning(
            "message %s not published, broker unreachable: %s", message_id, type(exc).__name__
        )
        return False
    return True


def external_url(endpoint: str, **values) -> str:
    """An absolute link for a mail, on COUNSELOR_BASE_URL (never the request's Host header).

    Built without ``url_for``, which needs a request or SERVER_NAME: beat makes the digests
    with neither.
    """
    app = current_app._get_current_object()
    # the URL map bound once per app, not per link (a notice builds two): building reads it
    # and changes nothing, so one adapter serves every request and thread
    adapter = app.extensions.get(_URL_ADAPTER)
    if adapter is None:
        adapter = app.extensions[_URL_ADAPTER] = app.url_map.bind("localhost")
    return app.config["COUNSELOR_BASE_URL"].rstrip("/") + adapter.build(endpoint, values)


_URL_ADAPTER = "counselor.mail.url_adapter"


# ---- the worker's side --------------------------------------------------------------------


def claim(message_id: uuid.UUID) -> str | None:
    """Take a message for sending with one conditional UPDATE; None if it is not ours to send.

    Claimable: queued and due, or sending with an expired lease (its worker died). A second
    delivery of the same task finds it sending or sent and does nothing.
    """
    return LEASE.claim(message_id, _due())


def _due():
    return or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= utcnow())


def sendable() -> list[uuid.UUID]:
    """Every message a worker may claim now (due and queued, or its lease over), oldest
    first: what a drain sends."""
    return list(
        db.session.scalars(
            select(Message.id).where(LEASE.claimable(utcnow(), _due())).order_by(Message.created_at)
        )
    )


def still_wanted(message: Message) -> bool:
    """Nothing for a partner who lost their address, a disabled account, or a kind switched off."""
    if message.partner_id is not None:
        partner = db.session.get(Partner, message.partner_id)
        # an opt-out is honoured at once, also for mails already waiting
        if not homes.mail_allowed(partner):
            return False
        if message.kind in ("partner.reminder", "partner.due") and _already_sent(message):
            return False
    if message.counselor_id is not None and message.kind.startswith("notify."):
        from counselor.mail.notify import settings_for, wanted

        counselor = db.session.get(Counselor, message.counselor_id)
        if counselor is None or not counselor.active:
            return False
        # A kind switched off is honoured at once, also for its mails still waiting.
        kind = message.kind.removeprefix("notify.")
        if kind != "digest" and not wanted(settings_for(counselor.id), kind):
            return False
    return True


def _already_sent(message: Message) -> bool:
    """Whether the partner sent the homework a reminder is about (then it is not sent)."""
    from counselor.mail.models import PartnerMail
    from counselor.questionnaires.models import Response

    status = db.session.scalar(
        select(Response.status)
        .join(PartnerMail, PartnerMail.assignment_id == Response.assignment_id)
        .where(PartnerMail.message_id == message.id, Response.partner_id == message.partner_id)
    )
    return status == "submitted"


def body_to_send(message: Message) -> str:
    """The body as delivered: a partner mail gets its fresh sign-in link minted now (committed
    before delivery, so it works when clicked); the outbox row never holds it."""
    body = message.body
    if message.partner_id is not None and compose.SIGN_IN_LINK in body:
        token = homes.mint_sign_in(message.partner_id)
        db.session.commit()
        body = body.replace(
            compose.SIGN_IN_LINK, external_url("portal.sign_in", sign_in_token=token)
        )
    return body


def email_of(message: Message, body: str | None = None):
    """The message as an RFC 5322 mail."""
    return transport.build_email(
        str(message.id),
        current_app.config["COUNSELOR_MAIL_SENDER"],
        message.recipient,
        message.subject,
        message.body if body is None else body,
    )


def mailbox() -> Path:
    """The development mailbox: .eml files under instance/mail/."""
    return Path(current_app.instance_path) / "mail"


def _parse(path: Path):
    with path.open("rb") as fh:
        return BytesParser(policy=policy.default).parse(fh)


def mailbox_list(limit: int = 200) -> list[dict]:
    """The development mailbox's mails, newest first: id, recipient, subject, date."""
    box = mailbox()
    if not box.is_dir():
        return []
    files = sorted(box.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True)
    out = []
    for path in files[:limit]:
        email = _parse(path)
        out.append(
            {"id": path.stem, "to": email["To"], "subject": email["Subject"], "date": email["Date"]}
        )
    return out


def mailbox_read(message_id: uuid.UUID):
    """One development mail as (headers, lines of (text, is_link) parts), or None."""
    path = mailbox() / f"{message_id}.eml"
    if not path.is_file():
        return None
    email = _parse(path)
    body = email.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    # Text and links apart, so the page escapes the text and makes only the URLs links.
    lines = [
        [(part, bool(URL.fullmatch(part))) for part in URL.split(line) if part]
        for line in text.splitlines()
    ]
    headers = [(k, email[k]) for k in ("From", "To", "Subject", "Date", "Message-ID")]
    return headers, lines


def send(message: Message) -> None:
    """Hand one message to SMTP or the development mailbox (raises transport failures)."""
    transport.deliver(
        email_of(message, body_to_send(message)),
        transport.SmtpSettings.from_config(current_app.config),
        mailbox(),
    )


def mark_sent(message_id: uuid.UUID, token: str) -> bool:
    """Record the send if we still hold the claim."""
    done = LEASE.finish(message_id, token, status="sent", sent_at=utcnow(), error=None)
    if done:
        audit.record("mail.sent", "message", message_id, actor_kind="system")
    db.session.commit()
    return done


def cancel(message_id: uuid.UUID, token: str) -> None:
    """Drop a message nobody should receive any more."""
    if LEASE.finish(message_id, token, status="cancelled"):
        audit.record("mail.cancel", "message", message_id, actor_kind="system")
    db.session.commit()


def defer(message_id: uuid.UUID, token: str, until: datetime) -> None:
    """Put a claimed message back to wait (quiet hours); the try does not count."""
    if LEASE.finish(
        message_id,
        token,
        status="queued",
        next_attempt_at=until,
        published_at=None,
        attempts=Message.attempts - 1,
    ):
        audit.record("mail.wait", "message", message_id, actor_kind="system")
    db.session.commit()


def backoff_seconds(attempts: int, base: int) -> int:
    """Wait before the next try: ``base`` after the first, doubling, at most an hour."""
    return min(base * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)


def retry_later(message_id: uuid.UUID, token: str, reason: str) -> str:
    """After a temporary failure: queued again with backoff, or failed after the last try."""
    message = LEASE.held(message_id, token)
    if message is None:
        return "gone"
    config = current_app.config
    if message.attempts >= config["COUNSELOR_MAIL_MAX_ATTEMPTS"]:
        return fail(
            message_id,
            token,
            f"{reason} Counselor gave up after {message.attempts} tries; the mail was not sent.",
        )
    wait = backoff_seconds(message.attempts, config["COUNSELOR_MAIL_RETRY_SECONDS"])
    LEASE.finish(
        message_id,
        token,
        status="queued",
        error=f"{reason} Counselor will try again.",
        next_attempt_at=utcnow() + timedelta(seconds=wait),
        published_at=None,
    )
    audit.record("mail.retry", "message", message_id, actor_kind="system")
    db.session.commit()
    return "queued"


def fail(message_id: uuid.UUID, token: str, reason: str) -> str:
    """End a message as failed with a sentence for the counselor, and tell them."""
    message = db.session.get(Message, message_id)
    if message is None or not LEASE.finish(message_id, token, status="failed", error=reason[:300]):
        db.session.commit()
        return "gone"
    audit.record("mail.failed", "message", message_id, actor_kind="system")
    if message.counselor_id is not None and not message.kind.startswith("notify."):
        # A counselor's own notification failing is not mailed to that same address.
        from counselor.mail import notify

        notify.undeliverable(message.counselor_id, message.case_id)
    db.session.commit()
    return "failed"


def due_messages() -> list[uuid.UUID]:
    """Messages to publish again: due and not published lately, or with a dead lease."""
    return LEASE.stale(_due())


def republish_due() -> int:
    """Publish every due message again; a message published twice is still sent once."""
    ids = due_messages()
    for message_id in ids:
        if publish(message_id):
            db.session.execute(
                update(Message)
                .where(Message.id == message_id)
                .values(published_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            db.session.commit()
    return len(ids)


# ---- what the counselor sees ------------------------------------------------------------------


def undelivered_for(counselor_id: uuid.UUID, limit: int = 20) -> list[Message]:
    """The counselor's mails that failed, newest first, each with its sentence."""
    return list(
        db.session.scalars(
            select(Message)
            .where(Message.counselor_id == counselor_id, Message.status == "failed")
            .order_by(Message.created_at.desc())
            .limit(limit)
        )
    )
