"""Mail settings: production refuses to start without SMTP, and wrong values stop start-up."""

from __future__ import annotations

import pytest

from counselor import create_app
from tests.test_config import SETTINGS, _production, refuses_to_start


@pytest.fixture
def production(monkeypatch):
    """A production environment with every setting it needs but the mail settings."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    _production(monkeypatch, COUNSELOR_SMTP_HOST=None, COUNSELOR_MAIL_SENDER=None)
    return monkeypatch


@pytest.mark.parametrize(
    "present, missing",
    [
        ({}, ["COUNSELOR_SMTP_HOST", "COUNSELOR_MAIL_SENDER"]),
        ({"COUNSELOR_SMTP_HOST": "smtp.example.org"}, ["COUNSELOR_MAIL_SENDER"]),
        ({"COUNSELOR_MAIL_SENDER": "mail@example.org"}, ["COUNSELOR_SMTP_HOST"]),
    ],
)
def test_production_without_smtp_stops_with_one_sentence(
    production, tmp_path, capsys, present, missing
):
    for name, value in present.items():
        production.setenv(name, value)
    err = refuses_to_start(tmp_path, capsys)
    assert all(name in err for name in missing)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    "env, words",
    [
        ({"COUNSELOR_SMTP_SECURITY": "ssl"}, "must be 'starttls', 'tls' or 'none'"),
        ({"COUNSELOR_SMTP_USER": "practice"}, "must be set together"),
        ({"COUNSELOR_SMTP_PORT": "70000"}, "between 1 and 65535"),
        ({"COUNSELOR_SMTP_PORT": "smtp"}, "must be a whole number"),
        ({"COUNSELOR_MAIL_SENDER": "not an address"}, "is not a mail address"),
        (
            {
                "COUNSELOR_SMTP_SECURITY": "none",
                "COUNSELOR_SMTP_USER": "practice",
                "COUNSELOR_SMTP_PASSWORD": "pw",
            },
            "unencrypted",
        ),
    ],
)
def test_wrong_mail_settings_stop_with_one_sentence(production, tmp_path, capsys, env, words):
    production.setenv("COUNSELOR_SMTP_HOST", "smtp.example.org")
    production.setenv("COUNSELOR_MAIL_SENDER", "Practice <mail@example.org>")
    for name, value in env.items():
        production.setenv(name, value)
    assert words in refuses_to_start(tmp_path, capsys)


def test_production_with_smtp_starts_and_the_port_follows_the_security(production, tmp_path):
    production.setenv("COUNSELOR_SMTP_HOST", "smtp.example.org")
    production.setenv("COUNSELOR_MAIL_SENDER", "Practice <mail@example.org>")
    production.setenv("COUNSELOR_SMTP_SECURITY", "tls")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["COUNSELOR_SMTP_PORT"] == 465
    assert app.config["COUNSELOR_MAIL_SUBJECT"] == "A message from your counselor's practice"


def test_development_without_smtp_keeps_mail_on_the_machine(monkeypatch, tmp_path):
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["COUNSELOR_SMTP_HOST"] is None
