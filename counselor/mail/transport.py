"""Handing a mail to the world: over SMTP (smtplib), or as an .eml file in development.

The standard library is enough: ``smtplib`` speaks STARTTLS and implicit TLS and reports the
server's reply codes, which decide between "try again later" (connection errors, 4xx) and
"this will never work" (5xx). Failures carry our own sentence, never the server's words,
which can quote the address or the message.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from pathlib import Path


class TemporaryFailure(Exception):
    """The mail may go through later: the server is down, busy or answered 4xx."""


class PermanentFailure(Exception):
    """The server refused the mail for good (5xx): trying again will not help."""


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to hand mail over; host None means the development mailbox."""

    host: str | None
    port: int
    security: str
    user: str | None
    password: str | None
    timeout: float

    @classmethod
    def from_config(cls, config) -> SmtpSettings:
        """The SMTP settings of an app config."""
        return cls(
            host=config["COUNSELOR_SMTP_HOST"],
            port=config["COUNSELOR_SMTP_PORT"],
            security=config["COUNSELOR_SMTP_SECURITY"],
            user=config["COUNSELOR_SMTP_USER"],
            password=config["COUNSELOR_SMTP_PASSWORD"],
            timeout=config["COUNSELOR_SMTP_TIMEOUT_SECONDS"],
        )


def build_email(message_id: str, sender: str, recipient: str, subject: str, body: str):
    """The RFC 5322 message; its Message-ID is stable, so a receiver can drop a duplicate."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = recipient
    email["Subject"] = subject
    email["Date"] = formatdate(localtime=False, usegmt=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    email["Message-ID"] = f"<{message_id}@{domain}>"
    # RFC 3834: machine-made, so auto-responders do not answer it.
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(body)
    return email


def deliver(email: EmailMessage, settings: SmtpSettings, mailbox: Path) -> None:
    """Send over SMTP, or write to the development mailbox when no SMTP host is set."""
    if settings.host is None:
        write_eml(email, mailbox)
        return
    try:
        _smtp_send(email, settings)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        raise _by_code(min(codes) if codes else -1) from None
    except smtplib.SMTPAuthenticationError:
        # A wrong password is the practice's to fix; the mail waits for it rather than fail.
        raise TemporaryFailure(
            "The mail server did not accept Counselor's sign-in; the practice's "
            "administrator must check the SMTP settings."
        ) from None
    except smtplib.SMTPResponseException as exc:
        raise _by_code(exc.smtp_code) from None
    except (smtplib.SMTPException, OSError):
        # Refused or dropped connections, timeouts, TLS trouble: all worth another try.
        raise TemporaryFailure("The mail server could not be reached.") from None


def _smtp_send(email: EmailMessage, settings: SmtpSettings) -> None:
    context = ssl.create_default_context()
    if settings.security == "tls":
        smtp = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout, context=context
        )
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    with smtp:
        if settings.security == "starttls":
            smtp.starttls(context=context)
        if settings.user:
            smtp.login(settings.user, settings.password or "")
        smtp.send_message(email)


def _by_code(code: int) -> Exception:
    if 500 <= code < 600:
        return PermanentFailure(
            f"The mail server refused this mail for good (reply {code}); "
            "check the address it was sent to."
        )
    if 400 <= code < 500:
        return TemporaryFailure(f"The mail server asked to try later (reply {code}).")
    return TemporaryFailure("The mail server broke off the conversation.")


def write_eml(email: EmailMessage, mailbox: Path) -> Path:
    """Write one .eml file (owner-only) under the mailbox folder, replacing an older copy."""
    mailbox.mkdir(mode=0o700, parents=True, exist_ok=True)
    message_id = email["Message-ID"].strip("<>").partition("@")[0]
    path = mailbox / f"{message_id}.eml"
    tmp = mailbox / f".{message_id}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(email.as_bytes())
    os.replace(tmp, path)
    return path
