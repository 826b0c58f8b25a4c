"""The words of every mail, built from plain values: links, counts and a severity.

Pure: no Flask, no database. Nothing here is given a case label, a questionnaire title, an
answer or a note, so no mail can carry one (the canary test builds every kind to prove it).
"""

from __future__ import annotations

from dataclasses import dataclass

from counselor.questionnaires.schema import ALERT_SEVERITIES as SEVERITIES


@dataclass(frozen=True)
class Mail:
    """A composed mail: its kind, subject and plain-text body."""

    kind: str
    subject: str
    body: str


@dataclass(frozen=True)
class CaseNews:
    """What happened in one case since the last digest: counts and a link, never the label."""

    case_url: str
    submitted: int = 0
    alerts: int = 0
    undeliverable: int = 0
    #: clauses of an agreement a partner paused (urgent), agreements due for review
    paused: int = 0
    reviews: int = 0
    #: the highest alert severity known (None when the items define none)
    severity: str | None = None


def _footer(settings_url: str) -> str:
    return (
        "\n\n--\n"
        "Counselor sends this mail because you chose it under Notifications. "
        "No mail from Counselor names a case or carries what anyone wrote.\n"
        f"Choose which mails you get: {settings_url}\n"
    )


def _severity(severity: str | None) -> str:
    return f" (severity: {severity})" if severity in SEVERITIES else ""


#: each mail to the counselor about one case: its subject, what happened (never what anyone
#: wrote, never the case's label) and what the link does
NOTICES = {
    "submitted": (
        "homework was submitted",
        "A partner submitted homework in one of your cases.",
        "Open the case",
    ),
    "alert": (
        "a screening alert needs your attention",
        "A screening alert{severity} was raised in one of your cases.",
        "Open the case to read it",
    ),
    "paused": (
        "a partner pressed pause (urgent)",
        "A partner pressed pause on part of an agreement or on a step in one of your cases "
        "(severity: urgent).",
        "Open the case to see it",
    ),
    "review": (
        "an agreement is due for review",
        "An agreement in one of your cases has reached its review date. "
        "Its partners were reminded as well.",
        "Open the case to plan the review",
    ),
}


def notice(kind: str, case_url: str, settings_url: str, severity: str | None = None) -> Mail:
    """The mail of one event of ``kind`` (see NOTICES) in one case; an alert names only its
    severity."""
    subject, lead, action = NOTICES[kind]
    return Mail(
        f"notify.{kind}",
        f"Counselor: {subject}",
        lead.format(severity=_severity(severity))
        + f"\n\n{action} (you will be asked to sign in):\n{case_url}"
        + _footer(settings_url),
    )


def undeliverable(case_url: str | None, settings_url: str) -> Mail:
    """A mail to someone in one of the counselor's cases could not be delivered."""
    where = f"Open the case (you will be asked to sign in):\n{case_url}\n\n" if case_url else ""
    return Mail(
        "notify.undeliverable",
        "Counselor: a mail could not be delivered",
        "A mail Counselor sent for one of your cases could not be delivered.\n\n"
        + where
        + f"Why it failed is shown under Notifications:\n{settings_url}"
        + _footer(settings_url),
    )


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def digest(news: list[CaseNews], settings_url: str) -> Mail:
    """The daily digest: per case, how many pauses, alerts, submissions, reviews due and
    undelivered mails."""
    lines = []
    for n, item in enumerate(news, start=1):
        parts = []
        if item.paused:
            parts.append(
                _count(item.paused, "pause pressed by a partner", "pauses pressed by partners")
                + " (severity: urgent)"
            )
        if item.alerts:
            parts.append(
                _count(item.alerts, "screening alert", "screening alerts")
                + _severity(item.severity)
            )
        if item.submitted:
            parts.append(_count(item.submitted, "homework submitted", "homework submissions"))
        if item.reviews:
            parts.append(
                _count(item.reviews, "agreement due for review", "agreements due for review")
            )
        if item.undeliverable:
            parts.append(_count(item.undeliverable, "mail not delivered", "mails not delivered"))
        lines.append(f"{n}. One of your cases: {', '.join(parts)}.\n   {item.case_url}")
    return Mail(
        "notify.digest",
        "Counselor: your daily summary",
        "Since your last summary:\n\n"
        + "\n".join(lines)
        + "\n\nEach link opens the case after you sign in."
        + _footer(settings_url),
    )


def partner(body: str, practice_subject: str) -> Mail:
    """A mail to a partner: always under the practice's neutral subject line."""
    return Mail("partner", practice_subject, body)


#: where a partner mail's sign-in link goes; the worker mints the link when it sends the mail,
#: so the outbox never holds it and its short life starts at delivery
SIGN_IN_LINK = "{sign_in_link}"


def _partner_mail(kind: str, subject: str, lead: str, ttl_days: int, opt_out_url: str) -> Mail:
    days = _count(ttl_days, "day", "days")
    return Mail(
        f"partner.{kind}",
        subject,
        "Hello,\n\n"
        f"{lead}\n\n"
        f"Open your page with this link (it works once, for the next {days}):\n"
        f"{SIGN_IN_LINK}\n\n"
        "If it has expired or was already used, open the personal link your counselor gave "
        "you, or ask them for a new one. Nothing of what you wrote is ever sent by mail.\n\n"
        "--\n"
        "You get this mail because your counselor's practice has your email address.\n"
        f"To get no more mails like this: {opt_out_url}\n",
    )


def partner_notice(kind: str, subject: str, lead: str, ttl_days: int, opt_out_url: str) -> Mail:
    """A partner mail of another feature (agreements): its ``lead`` sentences (content-free,
    the feature's responsibility), then the sign-in link and the opt-out, as every partner
    mail."""
    return _partner_mail(kind, subject, lead, ttl_days, opt_out_url)


#: the lead sentence of each homework mail to a partner (``{due}``: the due date as they read it)
HOMEWORK_LEADS = {
    "homework": "Your counselor has added something new for you on your private page.",
    "reminder": "A gentle reminder: something on your private page is due on {due}. "
    "There is no need to finish it in one go; what you write is saved as you go.",
    "due": "Something on your private page is due today. If it does not fit your day, that is "
    "all right: you can tell your counselor.",
    "released": "Your counselor has shared something with you on your private page.",
}


def partner_homework(
    kind: str, subject: str, ttl_days: int, opt_out_url: str, due: str = ""
) -> Mail:
    """A mail about homework (never what it is): new (``homework``), a gentle ``reminder``
    before its ``due`` date, on the date to a partner who has not sent their answers yet
    (``due``), or the counselor shared results (``released``)."""
    return _partner_mail(kind, subject, HOMEWORK_LEADS[kind].format(due=due), ttl_days, opt_out_url)
