"""The mails agreements cause: partners are told there is something to read (never what),
the counselor is alerted when a clause is paused and reminded when a review is due.

Every partner mail goes through ``send_partner_mail``, on the partner home's partner mail
(``mail.partner.queue_notice``): the practice's neutral subject, a fresh sign-in link minted
when the mail is sent, the opt-out link (an opt-out is honoured, also for mails waiting), and
quiet hours.
"""

from __future__ import annotations

import uuid

from counselor.mail import notify
from counselor.mail.partner import queue_notice

#: the words of each partner mail: no title, no clause, no name, no case label
BODIES = {
    "new_version": (
        "Your counselor has shared something new for you to read.\n\n"
        "Please open your personal page when you have a quiet moment. "
        "There is no rush, and nothing changes until everyone has read it."
    ),
    "paused": (
        "A partner has pressed pause on part of something you agreed together. "
        "Your counselor knows.\n\n"
        "You can see which part on your personal page. Nobody needs to explain a pause."
    ),
    "review": (
        "It is time to look again at something you agreed together with your counselor.\n\n"
        "You can read it on your personal page; your counselor will talk it through with you."
    ),
}


def send_partner_mail(partner, kind: str) -> None:
    """Queue one mail of ``kind`` (see BODIES) to a partner with an address who has not opted
    out."""
    queue_notice(f"agreement.{kind}", BODIES[kind], partner)


def tell_partners(agreement, kind: str, but: uuid.UUID | None = None) -> None:
    """Mail every partner of the agreement (except ``but``, who did it)."""
    for partner in agreement.case.partners:
        if partner.id in agreement.partner_ids and partner.id != but:
            send_partner_mail(partner, kind)


def alert_counselor(agreement) -> None:
    """A clause was paused: an urgent alert to the counselor (severity only)."""
    notify.partner_paused(agreement.case)


def remind_counselor(agreement) -> None:
    """The version in force reached its review date: the counselor is told (nothing of it)."""
    notify.agreement_review(agreement.case)
