"""Command-line tools: `flask keys`, `flask counselors`, `flask demo`, `flask library`,
`flask answers`."""

from __future__ import annotations

import secrets
import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from counselor.config import new_encryption_key
from counselor.extensions import db

keys_cli = AppGroup("keys", help="Encryption keys for data at rest.")
counselors_cli = AppGroup("counselors", help="Counselor and admin accounts.")

DEMO_EMAIL = "demo@example.org"


@keys_cli.command("generate")
def keys_generate() -> None:
    """Print a new encryption key (put it first in COUNSELOR_ENCRYPTION_KEYS to start using it)."""
    click.echo(new_encryption_key())


@keys_cli.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every sealed value under the first key; safe to run again."""
    from counselor.core.crypto import DecryptionError, rotate_all

    try:
        checked, rewritten = rotate_all(db.session)
    except DecryptionError:
        db.session.rollback()
        raise click.ClickException(
            "Some data was encrypted with a key that is no longer in COUNSELOR_ENCRYPTION_KEYS; "
            "put the old key back (after the new first key) and run `flask keys rotate` again. "
            "Nothing was changed."
        ) from None
    db.session.commit()
    click.echo(f"Checked {checked} encrypted values; re-encrypted {rewritten} under the first key.")


def _read_password() -> str:
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise click.ClickException("No password on standard input.")
    return line


@counselors_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="Full name shown in the app.")
@click.option("--admin", is_flag=True, help="A practice admin: manages accounts, sees no cases.")
def counselors_create(email: str, name: str, admin: bool) -> None:
    """Create an account; the password is asked twice (or read from standard input)."""
    from counselor.auth.services import AccountError, create_counselor

    password = _read_password()
    try:
        create_counselor(email, name, password, admin=admin)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"Created {'admin' if admin else 'counselor'} account {email.strip().lower()}.")


def _account(email: str):
    """The account with this email, or a one-line error for the operator."""
    from counselor.auth.services import get_by_email

    account = get_by_email(email)
    if account is None:
        raise click.ClickException(f"No account with email {email}.")
    return account


@counselors_cli.command("disable")
@click.argument("email")
def counselors_disable(email: str) -> None:
    """Disable an account and end its sessions."""
    from counselor.auth.services import set_active

    account = _account(email)
    set_active(account, False)
    db.session.commit()
    click.echo(f"Disabled {account.email}; its sessions end at their next request.")


@counselors_cli.command("reset-totp")
@click.argument("email")
def counselors_reset_totp(email: str) -> None:
    """Switch two-step sign-in off for an account whose phone is lost; ends its sessions."""
    from counselor.auth.services import AccountError, reset_totp

    account = _account(email)
    try:
        reset_totp(account)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(
        f"Two-step sign-in is off for {account.email}; they can enrol again after signing in."
    )


@click.command("demo")
@click.option(
    "--reset-password",
    is_flag=True,
    help="Development only: give the demo account a fresh password and print it.",
)
def demo(reset_password: bool) -> None:
    """Create a demo counselor with two demo cases (when absent) and print its login."""
    from counselor.auth.services import create_counselor, get_by_email, set_active, set_password
    from counselor.questionnaires.services import sync_library

    sync_library()
    account = get_by_email(DEMO_EMAIL)
    password = None
    if account is None:
        password = secrets.token_urlsafe(12)
        account = create_counselor(DEMO_EMAIL, "Dr. Demo Counselor", password)
        _demo_cases(account)
    elif reset_password:
        if current_app.config["PRODUCTION"]:
            raise click.ClickException("Refusing to reset the demo password in production.")
        password = secrets.token_urlsafe(12)
        set_password(account, password)
        if not account.active:
            set_active(account, True)  # the login printed below must work
    db.session.commit()
    if password:
        click.echo(f"Demo login: {DEMO_EMAIL} / {password}")
    else:
        click.echo(f"Demo account {DEMO_EMAIL} already exists (password unchanged).")


def _demo_cases(account) -> None:
    """The demo cases (see ``counselor.demo``)."""
    from counselor.demo import create_demo_cases

    create_demo_cases(account)


def register_cli(app: Flask) -> None:
    """Attach the command groups to the app's `flask` command."""
    app.cli.add_command(keys_cli)
    app.cli.add_command(counselors_cli)
    app.cli.add_command(demo)
    app.cli.add_command(library_cli)
    app.cli.add_command(answers_cli)


library_cli = AppGroup("library", help="The built-in questionnaire library.")


@library_cli.command("sync")
def library_sync() -> None:
    """Load the built-in questionnaires; a changed file becomes a new version. Idempotent."""
    from counselor.questionnaires.services import DefinitionError, sync_library

    try:
        files, added = sync_library()
    except DefinitionError as exc:
        raise click.ClickException(
            "A built-in definition is invalid:\n  " + "\n  ".join(exc.errors)
        ) from None
    db.session.commit()
    click.echo(f"Library: {files} definitions checked, {added} new versions.")


answers_cli = AppGroup("answers", help="Stored answers.")


@answers_cli.command("upgrade")
def answers_upgrade() -> None:
    """Rewrite older desire answers: an item-wide hard limit becomes a limit on every role the
    partner answered. Idempotent; run after `flask db upgrade`."""
    from counselor.questionnaires.services import upgrade_desire_answers

    checked, rewritten = upgrade_desire_answers()
    db.session.commit()
    click.echo(f"Checked {checked} responses; rewrote {rewritten} with per-role hard limits.")
