"""A real SMTP server for the tests: aiosmtpd on 127.0.0.1, recording what it receives.

``reply`` makes it refuse the next mails at the DATA stage with a given answer (say
"451 4.3.0 Try again later" or "550 5.1.1 No such user"), as a real server would.
"""

from __future__ import annotations

import threading
from email import policy
from email.parser import BytesParser

from aiosmtpd.controller import Controller

from tests.support.services import free_port


class Recorder:
    """aiosmtpd handler: keeps every accepted mail; can be told to refuse instead."""

    def __init__(self):
        self.lock = threading.Condition()
        self.received: list[bytes] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refused = 0
        self.reply: str | None = None

    def reset(self) -> None:
        """Forget what was received and accept again."""
        with self.lock:
            self.received.clear()
            self.envelopes.clear()
            self.refused = 0
            self.reply = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        with self.lock:
            if self.reply:
                self.refused += 1
                self.lock.notify_all()
                return self.reply
            self.received.append(envelope.original_content or envelope.content)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.lock.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 30) -> list[bytes]:
        """Block until ``count`` mails arrived (an event, not a sleep); returns them."""
        with self.lock:
            if not self.lock.wait_for(lambda: len(self.received) >= count, timeout):
                raise AssertionError(f"{len(self.received)} mails arrived, {count} expected")
            return list(self.received)

    def mails(self):
        """The received mails, parsed."""
        with self.lock:
            return [BytesParser(policy=policy.default).parsebytes(raw) for raw in self.received]


class SmtpServer:
    """One aiosmtpd controller on 127.0.0.1 and a port of its own."""

    def __init__(self, port: int | None = None):
        self.recorder = Recorder()
        self.port = port or free_port()
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
