"""The outbox's drain (counselor.mail.drain): requests committing mail while drains run, for
real, in threads; every message is sent once, none is left waiting.

The broker and its worker are played by a queue and one thread: each drain a request sends is
run later, in order, by that thread, as a worker would. The flag is the real one: the
``mail_drain`` row of the suite's database (SQLite, or PostgreSQL in CI), or a Redis key.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from types import SimpleNamespace

import pytest

from counselor.extensions import db
from counselor.mail import compose, drain, services
from counselor.mail.tasks import drain_outbox
from tests.support import make_account
from tests.support.mail import messages, smtp_config
from tests.support.services import REDIS_URL, service_unavailable

REQUESTS, MAILS_EACH = 4, 20


def _broker_config(store: str) -> dict:
    if store == "table":
        return {}
    if not REDIS_URL:
        service_unavailable("Redis (COUNSELOR_TEST_REDIS_URL)")
    return {"CELERY_BROKER_URL": REDIS_URL}


@pytest.mark.parametrize("store", ["table", "redis"])
def test_mail_committed_while_drains_run_is_sent_once_and_none_is_left(
    make_app, smtp_server, smtp, monkeypatch, store
):
    app = make_app(**smtp_config(smtp_server.port), **_broker_config(store))
    drains: queue.Queue = queue.Queue()
    published = []

    def publish():
        published.append(1)
        drains.put("drain")

    # the broker: a drain sent is queued for the worker thread below
    monkeypatch.setattr(drain, "sender", lambda app, name: SimpleNamespace(send=publish))
    # widen the windows a lost message would slip through: between the drain's clearing of
    # the flag and its read, and after its read while requests keep committing
    read = services.sendable

    def slow_read():
        time.sleep(random.uniform(0, 0.004))  # noqa: S311 - timing jitter
        ids = read()
        time.sleep(random.uniform(0, 0.004))  # noqa: S311 - timing jitter
        return ids

    monkeypatch.setattr(services, "sendable", slow_read)
    errors = []

    def worker():
        with app.app_context():
            while drains.get() != "stop":
                try:
                    drain_outbox.run()
                except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                    errors.append(exc)
                db.session.remove()

    def request(n: int):
        with app.app_context():
            for i in range(MAILS_EACH):
                mail = compose.notice("submitted", f"http://counselor.test/cases/{n}-{i}", "x")
                services.queue(mail, "alice@example.org")
                db.session.commit()  # the drain is asked for (or found pending) here
                db.session.remove()
                time.sleep(random.uniform(0, 0.002))  # noqa: S311 - timing jitter

    with app.app_context():
        make_account("alice@example.org", "Alice Counselor")
        db.session.commit()
        drain.clear()  # no flag left by an earlier test on a shared Redis database
    running = threading.Thread(target=worker)
    running.start()
    threads = [threading.Thread(target=request, args=(n,)) for n in range(REQUESTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    drains.put("stop")  # after every drain the requests sent: the worker runs them all first
    running.join()

    with app.app_context():
        mails = messages()
        assert errors == []
        assert len(mails) == REQUESTS * MAILS_EACH
        assert {m.status for m in mails} == {"sent"}, "a message left unsent"
        ids = [mail["Message-ID"] for mail in smtp.mails()]
        assert len(ids) == len(mails) and len(set(ids)) == len(ids), "a message sent twice"
        # the hand-offs were coalesced: never more drains than messages
        assert 1 <= len(published) <= len(mails)
        drain.clear()


#: the moments of a running drain at which another request commits a message
MOMENTS = ["before clear", "after clear", "before read", "after read"]


@pytest.mark.parametrize("store", ["table", "redis"])
def test_a_message_committed_at_any_moment_of_a_running_drain_is_sent(
    make_app, smtp_server, smtp, monkeypatch, store
):
    """Each interleaving forced in turn: no request comes after it, so a message the drains
    missed would stay unsent (reading before clearing leaves the one committed in between)."""
    app = make_app(**smtp_config(smtp_server.port), **_broker_config(store))
    drains: list[str] = []
    monkeypatch.setattr(
        drain, "sender", lambda app, name: SimpleNamespace(send=lambda: drains.append(name))
    )
    mail = compose.notice("submitted", "http://counselor.test/cases/x", "x")
    when = {"moment": None}

    def another_request():
        def commit():
            with app.app_context():
                services.queue(mail, "alice@example.org")
                db.session.commit()
                db.session.remove()

        thread = threading.Thread(target=commit)  # its own session and connection
        thread.start()
        thread.join()

    def at(step: str, run):
        def hooked(*args, **kwargs):
            if when["moment"] == f"before {step}":
                when["moment"] = None
                another_request()
            result = run(*args, **kwargs)
            if when["moment"] == f"after {step}":
                when["moment"] = None
                another_request()
            return result

        return hooked

    monkeypatch.setattr(drain, "clear", at("clear", drain.clear))
    monkeypatch.setattr(services, "sendable", at("read", services.sendable))
    with app.app_context():
        make_account("alice@example.org", "Alice Counselor")
        db.session.commit()
        drain.clear()
        for moment in MOMENTS:
            services.queue(mail, "alice@example.org")
            db.session.commit()  # a drain sent, then pending
            when["moment"] = moment
            while drains:  # the worker runs every drain sent, in order, until none is left
                drains.pop(0)
                drain_outbox.run()
                db.session.remove()
            left = [m.id for m in messages() if m.status != "sent"]
            assert left == [], f"a message committed {moment} the drain's step was left unsent"
        assert len(smtp.wait_for(2 * len(MOMENTS))) == 2 * len(MOMENTS)


def test_a_pending_drain_holds_back_the_next_hand_off_until_it_clears(mail_app, monkeypatch):
    sent = []
    monkeypatch.setattr(
        drain, "sender", lambda app, name: SimpleNamespace(send=lambda: sent.append(name))
    )
    make_account("alice@example.org", "Alice Counselor")
    mail = compose.notice("submitted", "http://counselor.test/cases/x", "x")
    for _ in range(3):
        services.queue(mail, "alice@example.org")
        db.session.commit()
    assert sent == [drain.DRAIN_TASK], "one drain for three commits while it is pending"
    assert drain_outbox.run() == 3
    services.queue(mail, "alice@example.org")
    db.session.commit()
    assert sent == [drain.DRAIN_TASK] * 2, "the drain cleared the flag: the next mail sends one"


def test_a_drain_lost_by_the_broker_is_sent_again_after_the_republish_wait(mail_app, monkeypatch):
    sent = []
    monkeypatch.setattr(
        drain, "sender", lambda app, name: SimpleNamespace(send=lambda: sent.append(name))
    )
    mail_app.config["COUNSELOR_MAIL_REPUBLISH_SECONDS"] = 0  # every pending drain is stale
    make_account("alice@example.org", "Alice Counselor")
    mail = compose.notice("submitted", "http://counselor.test/cases/x", "x")
    for _ in range(2):
        services.queue(mail, "alice@example.org")
        time.sleep(0.01)
        db.session.commit()
    assert len(sent) == 2


def _redis_flag() -> drain.RedisFlag:
    if not REDIS_URL:
        service_unavailable("Redis (COUNSELOR_TEST_REDIS_URL)")
    return drain.RedisFlag(REDIS_URL, f"test-flag-{threading.get_ident()}")


def test_the_redis_flag_is_set_once_and_again_after_a_clear():
    flag = _redis_flag()
    try:
        assert flag.set(60) is True
        assert flag.set(60) is False, "set while set: a drain is pending"
        flag.clear()
        assert flag.set(60) is True
    finally:
        flag.clear()


def test_the_redis_flag_survives_its_connection_closed_by_redis():
    import redis

    flag = _redis_flag()
    admin = redis.Redis.from_url(REDIS_URL)
    try:
        assert flag.set(60) is True
        flag.clear()
        # as a restart of Redis does: the server closes the flag's idle connection
        assert admin.client_kill_filter(_id=flag._command("CLIENT", "ID")) == 1
        assert flag.set(60) is True, "the closed connection is opened again, the SET sent once"
        assert admin.get(flag.key) is not None
    finally:
        flag.clear()
        admin.close()


def test_each_thread_sends_the_redis_flag_on_a_connection_of_its_own():
    flag = _redis_flag()
    seen = []

    def use():
        flag.set(60)
        seen.append(flag._local.connection[0])
        flag.clear()

    threads = [threading.Thread(target=use) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(c) for c in seen}) == 3
