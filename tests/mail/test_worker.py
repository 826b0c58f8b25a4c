"""Mail through a real Celery worker and beat, to a real SMTP server: never lost, never twice.

Embedded SQLite broker by default, Redis in CI (COUNSELOR_TEST_REDIS_URL).
"""

from __future__ import annotations

import re
import time

import pytest

from counselor.extensions import db
from counselor.mail import compose, services
from counselor.mail.models import Message
from tests.support import free_port, make_account
from tests.support.mail import smtp_config
from tests.support.smtp import SmtpServer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _worker_env(port: int) -> dict:
    return {
        "COUNSELOR_SMTP_HOST": "127.0.0.1",
        "COUNSELOR_SMTP_PORT": port,
        "COUNSELOR_SMTP_SECURITY": "none",
        "COUNSELOR_MAIL_SENDER": "Practice <mail@example.org>",
        "COUNSELOR_MAIL_SWEEP_SECONDS": 1,
        "COUNSELOR_MAIL_RETRY_SECONDS": 1,
        "COUNSELOR_MAIL_REPUBLISH_SECONDS": 2,
    }


def _status(message_id) -> Message:
    db.session.expire_all()
    return db.session.get(Message, message_id)


def _until(what, check, timeout: float, harness):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    pytest.fail(f"{what} did not happen within {timeout}s\n{harness.logs()}")


def _queue(app) -> object:
    make_account("alice@example.org", "Alice")
    mail = compose.notice("submitted", "http://counselor.test/cases/x", "http://counselor.test/n")
    message = services.queue(mail, "alice@example.org")
    db.session.commit()  # published to the broker after this commit
    return message.id


def test_smtp_down_then_up_through_worker_and_beat_sends_once(make_app, celery_env):
    port = free_port()  # the SMTP server is down: connection refused
    app = make_app(CELERY_BROKER_URL=celery_env.broker, **smtp_config(port))
    with app.app_context():
        celery_env.start("worker", **_worker_env(port))
        celery_env.start("beat", **_worker_env(port))
        mid = _queue(app)
        _until(
            "a failed try",
            lambda: _status(mid).attempts >= 1 and _status(mid).error,
            40,
            celery_env,
        )
        assert _status(mid).status in ("queued", "sending")
        assert _status(mid).error.startswith("The mail server could not be reached")
        server = SmtpServer(port).start()
        try:
            server.recorder.wait_for(1, timeout=60)
            _until("sent", lambda: _status(mid).status == "sent", 30, celery_env)
            # Beat keeps sweeping: give it two more rounds to send it again (it must not).
            log = celery_env.processes[1].log
            rounds = log.read_text().count("republish_due_messages")
            _until(
                "two more sweeps",
                lambda: log.read_text().count("republish_due_messages") >= rounds + 2,
                30,
                celery_env,
            )
            assert len(server.recorder.received) == 1
        finally:
            server.stop()


def test_a_task_delivered_twice_by_the_broker_sends_one_mail(
    make_app, celery_env, smtp_server, smtp
):
    app = make_app(CELERY_BROKER_URL=celery_env.broker, **smtp_config(smtp_server.port))
    with app.app_context():
        mid = _queue(app)  # the commit sent a drain of the outbox
        # and the message's own task twice, as beat's sweep and a broker's redelivery would
        assert services.publish(mid) and services.publish(mid)
        worker = celery_env.start("worker", **_worker_env(smtp_server.port))
        smtp.wait_for(1, timeout=60)
        done = re.compile(r"(send_message|drain_outbox)\[[^\]]+\] succeeded")
        _until(
            "the three deliveries handled",
            lambda: len(done.findall(worker.log.read_text())) >= 3,
            60,
            celery_env,
        )
        assert "'skipped'" in worker.log.read_text()
        assert len(smtp.received) == 1 and _status(mid).status == "sent"
