"""Start-up configuration: production refuses to start without its secrets, with one clear
sentence; development makes its secrets once under the instance folder and keeps them."""

from __future__ import annotations

import stat
import uuid

import pytest

from counselor import create_app
from counselor.config import new_encryption_key
from counselor.core.crypto import KeyRing, associated_data

SETTINGS = (
    "COUNSELOR_ENV",
    "SECRET_KEY",
    "COUNSELOR_ENCRYPTION_KEYS",
    "DATABASE_URL",
    "REDIS_URL",
    "COUNSELOR_TIMEZONE",
    "COUNSELOR_IDLE_MINUTES",
    "COUNSELOR_ABSOLUTE_HOURS",
    "COUNSELOR_BASE_URL",
    "COUNSELOR_SMTP_HOST",
    "COUNSELOR_SMTP_PORT",
    "COUNSELOR_SMTP_SECURITY",
    "COUNSELOR_SMTP_USER",
    "COUNSELOR_SMTP_PASSWORD",
    "COUNSELOR_MAIL_SENDER",
    "COUNSELOR_READ_AUDIT_DURABLE",
)

#: a production SECRET_KEY of the accepted length
LONG_SECRET = "x" * 32
BASE_URL = "https://counselor.example.org"


@pytest.fixture
def clean_env(monkeypatch):
    """An environment with none of Counselor's settings."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def refuses_to_start(instance, capsys) -> str:
    """Start the app, expect a non-zero exit, return the one line it printed."""
    with pytest.raises(SystemExit) as exit_info:
        create_app({"INSTANCE_PATH": str(instance)})
    assert exit_info.value.code not in (0, None)
    captured = capsys.readouterr()
    err = captured.err
    assert err.count("\n") == 1 and err.endswith(".\n"), f"one sentence expected, got {err!r}"
    assert "Traceback" not in err and "Error" not in err.split(":")[0]
    assert captured.out == ""
    return err


@pytest.mark.parametrize(
    "present, missing",
    [
        ({"COUNSELOR_ENCRYPTION_KEYS": new_encryption_key()}, ["SECRET_KEY"]),
        ({"SECRET_KEY": LONG_SECRET}, ["COUNSELOR_ENCRYPTION_KEYS"]),
        ({}, ["SECRET_KEY", "COUNSELOR_ENCRYPTION_KEYS"]),
    ],
)
def test_production_without_secrets_stops_with_one_sentence(
    clean_env, tmp_path, capsys, present, missing
):
    clean_env.setenv("COUNSELOR_ENV", "production")
    clean_env.setenv("DATABASE_URL", "postgresql://db.invalid/counselor")
    clean_env.setenv("COUNSELOR_BASE_URL", BASE_URL)
    for name, value in present.items():
        clean_env.setenv(name, value)
    err = refuses_to_start(tmp_path, capsys)
    assert err.startswith("Counselor cannot start:")
    for name in missing:
        assert name in err
    assert not any(tmp_path.iterdir()), "production never invents secrets"


def test_production_without_database_url_stops_with_one_sentence(clean_env, tmp_path, capsys):
    clean_env.setenv("COUNSELOR_ENV", "production")
    clean_env.setenv("SECRET_KEY", LONG_SECRET)
    clean_env.setenv("COUNSELOR_ENCRYPTION_KEYS", new_encryption_key())
    clean_env.setenv("COUNSELOR_BASE_URL", BASE_URL)
    assert "DATABASE_URL" in refuses_to_start(tmp_path, capsys)


def _production(env, **settings) -> None:
    env.setenv("COUNSELOR_ENV", "production")
    env.setenv("SECRET_KEY", LONG_SECRET)
    env.setenv("COUNSELOR_ENCRYPTION_KEYS", new_encryption_key())
    env.setenv("DATABASE_URL", "postgres://user@db.invalid/counselor")
    env.setenv("COUNSELOR_BASE_URL", BASE_URL)
    env.setenv("COUNSELOR_SMTP_HOST", "smtp.invalid")
    env.setenv("COUNSELOR_MAIL_SENDER", "Practice <mail@example.org>")
    for name, value in settings.items():
        if value is None:
            env.delenv(name)
        else:
            env.setenv(name, value)


def test_production_refuses_a_secret_key_shorter_than_32_bytes(clean_env, tmp_path, capsys):
    _production(clean_env, SECRET_KEY="s3cret-but-only-31-bytes-long!!")
    err = refuses_to_start(tmp_path, capsys)
    assert "SECRET_KEY must be at least 32 bytes" in err


def test_production_without_a_base_url_stops_with_one_sentence(clean_env, tmp_path, capsys):
    _production(clean_env, COUNSELOR_BASE_URL=None)
    assert "without COUNSELOR_BASE_URL" in refuses_to_start(tmp_path, capsys)


@pytest.mark.parametrize(
    "value",
    [
        "counselor.example.org",
        "ftp://counselor.example.org",
        "https://x.example/path",
        "http://counselor.example.org",
    ],
)
def test_production_refuses_a_base_url_that_is_not_an_https_origin(
    clean_env, tmp_path, capsys, value
):
    _production(clean_env, COUNSELOR_BASE_URL=value)
    assert "COUNSELOR_BASE_URL must" in refuses_to_start(tmp_path, capsys)


def test_development_base_url_defaults_to_the_make_run_address(clean_env, tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["COUNSELOR_BASE_URL"] == "http://127.0.0.1:5000"


def test_development_sqlite_database_is_created_owner_only(clean_env, tmp_path):
    from sqlalchemy import text

    from counselor.extensions import db
    from counselor.worker import broker_url

    instance = tmp_path / "fresh-instance"
    app = create_app({"INSTANCE_PATH": str(instance)})
    with app.app_context():
        with db.engine.begin() as conn:  # SQLite writes the file at the first connection
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
        db.engine.dispose()
        broker_url(app)
    for name in ("counselor.sqlite3", "broker.sqlite3"):
        mode = stat.S_IMODE((instance / name).stat().st_mode)
        assert mode == 0o600, f"{name} is {oct(mode)}"


@pytest.mark.parametrize(
    "name, value, words",
    [
        ("COUNSELOR_ENV", "staging", "COUNSELOR_ENV must be 'development' or 'production'"),
        ("COUNSELOR_IDLE_MINUTES", "thirty", "COUNSELOR_IDLE_MINUTES must be a whole number"),
        ("COUNSELOR_TIMEZONE", "Mars/Olympus", "is not a known time zone"),
        ("COUNSELOR_ENCRYPTION_KEYS", "tooshort", "must be 32 bytes"),
        ("COUNSELOR_READ_AUDIT_DURABLE", "always", "COUNSELOR_READ_AUDIT_DURABLE must be 1 or 0"),
    ],
)
def test_wrong_settings_stop_with_one_sentence(clean_env, tmp_path, capsys, name, value, words):
    clean_env.setenv(name, value)
    assert words in refuses_to_start(tmp_path, capsys)


def test_production_with_its_secrets_starts_hardened(clean_env, tmp_path):
    _production(clean_env)
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["COUNSELOR_BASE_URL"] == BASE_URL
    assert app.config["PRODUCTION"] is True and app.debug is False and app.testing is False
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
    # no secret invented (the embedded broker's empty queue file is all that may appear)
    assert {p.name for p in tmp_path.iterdir()} <= {"broker.sqlite3"}


def test_development_creates_its_secrets_once_and_reuses_them(clean_env, tmp_path):
    instance = tmp_path / "instance"
    first = create_app({"INSTANCE_PATH": str(instance)})
    secret_file, keys_file = instance / "secret_key", instance / "encryption_keys"
    assert secret_file.exists() and keys_file.exists()
    for f in (secret_file, keys_file):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f"{f.name} readable by others"
    assert first.config["SECRET_KEY"] == secret_file.read_text().strip()
    assert len(first.config["SECRET_KEY"]) >= 32
    assert first.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'counselor.sqlite3'}"

    second = create_app({"INSTANCE_PATH": str(instance)})
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]
    assert second.config["COUNSELOR_ENCRYPTION_KEYS"] == first.config["COUNSELOR_ENCRYPTION_KEYS"]
    aad = associated_data("case", "label", uuid.UUID(int=1))
    sealed = KeyRing(first.config["COUNSELOR_ENCRYPTION_KEYS"]).encrypt("kept across restarts", aad)
    assert (
        KeyRing(second.config["COUNSELOR_ENCRYPTION_KEYS"]).decrypt(sealed, aad)
        == "kept across restarts"
    )

    other = create_app({"INSTANCE_PATH": str(tmp_path / "elsewhere")})
    assert other.config["SECRET_KEY"] != first.config["SECRET_KEY"], (
        "secrets are random per install"
    )


def test_development_uses_secrets_from_the_environment_when_given(clean_env, tmp_path):
    key = new_encryption_key()
    clean_env.setenv("SECRET_KEY", "from-the-environment")
    clean_env.setenv("COUNSELOR_ENCRYPTION_KEYS", key)
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SECRET_KEY"] == "from-the-environment"  # noqa: S105
    assert app.config["COUNSELOR_ENCRYPTION_KEYS"] == key
    assert not (tmp_path / "secret_key").exists() and not (tmp_path / "encryption_keys").exists()
