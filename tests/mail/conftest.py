"""Fixtures of the mail tests: a real SMTP server (aiosmtpd) and an app that sends to it."""

from __future__ import annotations

import pytest

from counselor.extensions import db
from tests.conftest import make_account
from tests.mail.smtp_server import SmtpServer


@pytest.fixture(scope="session")
def smtp_server():
    """One aiosmtpd server for the whole run, on 127.0.0.1 and a free port."""
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp(smtp_server):
    """The session's SMTP server, emptied and accepting."""
    smtp_server.recorder.reset()
    yield smtp_server.recorder
    smtp_server.recorder.reset()


def smtp_config(port: int, **extra) -> dict:
    """Settings that send plain SMTP to 127.0.0.1:port, retrying at once (no backoff wait)."""
    return {
        "COUNSELOR_SMTP_HOST": "127.0.0.1",
        "COUNSELOR_SMTP_PORT": port,
        "COUNSELOR_SMTP_SECURITY": "none",
        "COUNSELOR_SMTP_TIMEOUT_SECONDS": 5,
        "COUNSELOR_MAIL_SENDER": "Practice <mail@example.org>",
        "COUNSELOR_MAIL_RETRY_SECONDS": 0,
        "COUNSELOR_MAIL_MAX_ATTEMPTS": 3,
        "COUNSELOR_BASE_URL": "https://counselor.example.org",
        **extra,
    }


@pytest.fixture
def mail_app(make_app, smtp_server, smtp):
    """An app sending over SMTP to the test server, with its context pushed."""
    application = make_app(**smtp_config(smtp_server.port))
    with application.app_context():
        yield application


@pytest.fixture
def alice(mail_app):
    """A counselor account on the mail app."""
    return make_account("alice@example.org", "Alice Counselor")


def messages():
    """Every outbox row, oldest first, read fresh."""
    from sqlalchemy import select

    from counselor.mail.models import Message

    db.session.expire_all()
    return list(db.session.scalars(select(Message).order_by(Message.created_at)))
