"""Fixtures of the mail tests: a real SMTP server (aiosmtpd) and an app that sends to it.

The helpers these tests call live in ``tests.support.mail`` and ``tests.support.smtp``.
"""

from __future__ import annotations

import pytest

from tests.support import make_account
from tests.support.mail import smtp_config
from tests.support.smtp import SmtpServer


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
