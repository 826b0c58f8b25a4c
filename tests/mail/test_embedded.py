"""Without SMTP settings, mail stays on the machine: .eml files and a development-only page."""

from __future__ import annotations

import re
import stat

import pytest

from counselor.extensions import db
from counselor.mail import compose, services
from counselor.mail.tasks import send_message
from tests.support import make_account, sign_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # kombu's own use of SA


@pytest.fixture
def local_app(make_app, tmp_path):
    """A development app without SMTP settings and with an instance folder of its own."""
    application = make_app(INSTANCE_PATH=str(tmp_path / "instance"))
    with application.app_context():
        yield application


def _sent_to_mailbox(app, recipient="alice@example.org"):
    link = "http://counselor.test/cases/00000000-0000-0000-0000-000000000001"
    message = services.queue(
        compose.notice("submitted", link, "http://counselor.test/n"), recipient
    )
    db.session.commit()
    assert send_message.run(str(message.id)) == "sent"
    return message.id, link


def test_without_smtp_each_mail_is_an_owner_only_eml_file(local_app):
    mid, link = _sent_to_mailbox(local_app)
    box = services.mailbox()
    path = box / f"{mid}.eml"
    assert path.is_file() and [p.name for p in box.iterdir()] == [path.name]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(box.stat().st_mode) == 0o700
    raw = path.read_text()
    assert "To: alice@example.org" in raw and "Subject: Counselor: homework was submitted" in raw
    assert link in raw


def test_the_development_page_lists_mails_and_links_what_they_link(local_app):
    mid, link = _sent_to_mailbox(local_app)
    account = make_account("alice@example.org", "Alice")
    browser = local_app.test_client()
    assert browser.get("/dev/mail").status_code == 302, "sign in first"
    sign_in(browser, account)
    home = browser.get("/cases").get_data(as_text=True)
    assert 'href="/dev/mail"' in home, "the menu leads there"
    listing = browser.get("/dev/mail").get_data(as_text=True)
    assert f'href="/dev/mail/{mid}"' in listing and "Counselor: homework was submitted" in listing
    page = browser.get(f"/dev/mail/{mid}")
    assert page.status_code == 200
    assert re.search(rf'<a href="{re.escape(link)}">', page.get_data(as_text=True))
    assert browser.get("/dev/mail/00000000-0000-0000-0000-000000000000").status_code == 404


def test_mail_text_is_shown_escaped_on_the_development_page(local_app):
    message = services.queue(
        compose.partner('<script>alert(1)</script> see https://x.example/"q', "Subject"),
        "bob@example.org",
    )
    db.session.commit()
    send_message.run(str(message.id))
    browser = local_app.test_client()
    sign_in(browser, make_account("alice@example.org", "Alice"))
    page = browser.get(f"/dev/mail/{message.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


@pytest.mark.parametrize(
    "overrides",
    [{"COUNSELOR_SMTP_HOST": "127.0.0.1"}, {"PRODUCTION": True}],
    ids=["smtp-configured", "production"],
)
def test_the_development_page_is_404_outside_development(make_app, tmp_path, overrides):
    app = make_app(INSTANCE_PATH=str(tmp_path / "instance"), **overrides)
    with app.app_context():
        browser = app.test_client()
        sign_in(browser, make_account("alice@example.org", "Alice"))
        assert browser.get("/dev/mail").status_code == 404
        assert browser.get("/dev/mail/00000000-0000-0000-0000-000000000001").status_code == 404
        assert 'href="/dev/mail"' not in browser.get("/cases").get_data(as_text=True)
