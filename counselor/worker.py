"""Celery the Flask way: one Celery app per Flask app, tasks run inside the app context.

Broker: Redis when REDIS_URL is set; otherwise kombu's SQLAlchemy transport on a SQLite file
under instance/, so that one command runs everything on a fresh machine. The Export row in
the database, not the broker, is the source of truth (see counselor.reports.tasks): a lost
message is republished by the beat job, a duplicate one does nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from json import dumps
from pathlib import Path

from celery import Celery, Task, shared_task
from flask import Flask
from kombu.transport import sqlalchemy as kombu_sqla
from kombu.utils.uuid import uuid as task_uuid

#: how often the embedded (SQLite) broker is polled; kombu's default of 1 s makes every
#: export wait a second before it starts
EMBEDDED_POLLING_SECONDS = 0.1


class EmbeddedChannel(kombu_sqla.Channel):
    """kombu's SQLAlchemy channel, publishing a message with one Core INSERT committed at once.

    kombu's own ``_put`` looks the queue up through its ORM session and adds the message as an
    ORM object on every publish: three quarters of the cost of handing a mail's task to the
    embedded broker, itself a third of a portal submit. The row written is the same (payload,
    queue, visible, version 1, no timestamp), committed before ``_put`` returns, and a failure
    still raises, so the caller's publish fails (beat publishes it later). The queue's id is
    looked up once per channel: this transport never deletes a queue.
    """

    _queue_ids: dict | None = None

    def _put(self, queue, payload, **kwargs):
        ids = self._queue_ids if self._queue_ids is not None else {}
        self._queue_ids = ids
        queue_id = ids.get(queue)
        if queue_id is None:
            queue_id = ids[queue] = self._get_or_create(queue).id
            self.session.commit()  # no read transaction left open on the broker's file
        engine, _ = self._open()
        with engine.begin() as conn:
            conn.execute(
                self.message_cls.__table__.insert(),
                {"payload": dumps(payload), "queue_id": queue_id},
            )


def _redis_channel(base: type) -> type:
    """kombu's Redis channel, keeping its synchronous client instead of making one per command.

    kombu makes a new ``redis.Redis`` (with its table of reply callbacks) for every publish:
    half the cost of handing a mail's task to Redis. The client holds no state of its own
    besides its connection pool (redis-py shares one client between threads); it is made
    again whenever the channel's pool is (after a fork or a lost connection), as kombu's own
    would be.
    """

    class RedisChannel(base):
        _sync_client = None

        def _create_client(self, asynchronous=False):
            if asynchronous:
                return super()._create_client(asynchronous=True)
            client = self._sync_client
            if client is None or client.connection_pool is not self.pool:
                client = self._sync_client = super()._create_client()
            return client

    return RedisChannel


class TaskSender:
    """``celery.send_task(name, args=[...], retry=False)`` for one task name, with what is the
    same for every message worked out once: its route, Celery's own message headers (made by
    ``create_task_message``; only the task's id and its arguments change) and the publish
    options ``send_task_message`` derives for a direct exchange. ``send_task`` redid all of it
    on every call: a quarter of handing a mail's task to Redis. No result is kept, no
    ``before_task_publish`` signal is sent (nothing here listens to it). A route that is not
    a plain direct exchange is left to ``send_task``.
    """

    def __init__(self, celery: Celery, name: str):
        self.celery, self.name = celery, name
        queue = celery.amqp.router.route({}, name, (), {}, None).get("queue")
        self.direct = queue is not None and queue.exchange.type == "direct"
        message = celery.amqp.create_task_message("", name, (), {}, ignore_result=True)
        self.headers, self.properties, self.embed = (
            message.headers,
            message.properties,
            message.body[2],
        )
        if self.direct:  # as send_task_message publishes to a direct exchange
            self.options = {
                "exchange": "",
                "routing_key": queue.name,
                "declare": [queue],
                "delivery_mode": queue.exchange.delivery_mode
                or celery.conf.task_default_delivery_mode,
                "serializer": celery.conf.task_serializer,
                "compression": celery.conf.task_compression,
                "retry": False,
            }

    def send(self, *args: str) -> None:
        """Publish one message of the task with these arguments (raises a broker's error)."""
        if not self.direct:
            self.celery.send_task(self.name, args=list(args), retry=False)
            return
        task_id = task_uuid()
        headers = {**self.headers, "id": task_id, "root_id": task_id, "argsrepr": repr(list(args))}
        with self.celery.producer_or_acquire() as producer:
            producer.publish(
                (list(args), {}, self.embed),
                headers=headers,
                **{**self.properties, "correlation_id": task_id},
                **self.options,
            )


def sender(app: Flask, name: str) -> TaskSender:
    """This app's TaskSender for task ``name``, made at its first message (after any change a
    test or a worker made to the Celery settings at start-up)."""
    senders = app.extensions.setdefault("celery_senders", {})
    if name not in senders:
        senders[name] = TaskSender(app.extensions["celery"], name)
    return senders[name]


def lease_task(name: str, claim: Callable[[uuid.UUID], str | None]):
    """A task working on one outbox row under a lease (counselor.core.lease).

    The task takes the row's id as text; ``claim`` takes the row, and the decorated function
    runs with (id, claim token) only when the claim succeeded ("skipped" otherwise: a second
    delivery of the same message). The message is acknowledged only once the task ran, so a
    worker lost mid-task leaves it to another worker, whose claim finds the lease expired.
    """

    def decorate(work: Callable[[uuid.UUID, str], str]):
        def run(row_id: str) -> str:
            rid = uuid.UUID(row_id)
            token = claim(rid)
            return "skipped" if token is None else work(rid, token)

        # the task's name, doc and module, not its signature: callers pass the id as text
        for attr in ("__name__", "__qualname__", "__doc__", "__module__"):
            setattr(run, attr, getattr(work, attr))

        return shared_task(
            name=name, acks_late=True, reject_on_worker_lost=True, ignore_result=True
        )(run)

    return decorate


def broker_url(app: Flask) -> str:
    """The configured broker: Redis, or the embedded SQLite broker under instance/."""
    if app.config.get("CELERY_BROKER_URL"):
        return app.config["CELERY_BROKER_URL"]
    if app.config.get("REDIS_URL"):
        return app.config["REDIS_URL"]
    from counselor.config import private_sqlite_file

    path = Path(app.instance_path) / "broker.sqlite3"
    private_sqlite_file(f"sqlite:///{path}")  # queued messages name exports: owner-only
    return f"sqla+sqlite:///{path}"


def _transport_options(app: Flask, url: str) -> dict:
    if url.startswith("sqla+"):
        return {}  # the SQLAlchemy transport hands every option to create_engine
    return {
        # An unacknowledged message comes back after this long (its worker died).
        "visibility_timeout": app.config["COUNSELOR_EXPORT_VISIBILITY_SECONDS"],
        # Publishing from a web request tries the connection once more and gives up in
        # well under a second (kombu's default keeps trying for about two seconds).
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.5,
    }


def beat_schedule(app: Flask) -> dict:
    """What beat starts, and how often. Every job is safe to run twice or late: each claims
    its rows with a conditional write, so a second run finds nothing left to do."""
    every = {
        # exports and mails whose broker message was lost are published again
        "counselor.reports.tasks.republish_stuck_exports": timedelta(
            seconds=app.config["COUNSELOR_EXPORT_SWEEP_SECONDS"]
        ),
        "counselor.reports.tasks.purge_expired": timedelta(hours=1),
        "counselor.mail.tasks.republish_due_messages": timedelta(
            seconds=app.config["COUNSELOR_MAIL_SWEEP_SECONDS"]
        ),
        # a partner's submit marks its response; this tells the counselor (each mark is
        # cleared by the transaction that makes its mail or digest notice)
        "counselor.mail.tasks.send_submitted_notices": timedelta(
            seconds=app.config["COUNSELOR_NOTICE_SWEEP_SECONDS"]
        ),
        # each agreement's review reminder goes out once per version in force
        "counselor.agreements.tasks.remind_reviews": timedelta(hours=1),
        # each reminder is made once (a unique row per partner, homework, kind)
        "counselor.mail.tasks.send_partner_reminders": timedelta(hours=1),
        # the job itself waits for the digest hour and makes each digest once
        "counselor.mail.tasks.send_digests": timedelta(hours=1),
        # each check-in is made once (a conditional update of its schedule claims it)
        "counselor.checkins.tasks.run_schedules": timedelta(hours=1),
    }
    return {task: {"task": task, "schedule": period} for task, period in every.items()}


def celery_settings(app: Flask) -> dict:
    """Celery's settings for ``app``: the broker, late acknowledgement, the beat schedule."""
    url = broker_url(app)
    return {
        "broker_url": url,
        "task_ignore_result": True,
        "result_backend": None,
        # A task is acknowledged after it ran, and handed back if its worker dies.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        # Publishing must never hold up a counselor's request when the broker is down:
        # the export row stays queued and the beat job publishes it later.
        "broker_connection_timeout": 1.0,
        "broker_connection_retry_on_startup": True,
        "task_publish_retry": False,
        "broker_transport_options": _transport_options(app, url),
        "worker_hijack_root_logger": False,
        "beat_schedule": beat_schedule(app),
        "beat_schedule_filename": str(Path(app.instance_path) / "celerybeat-schedule"),
    }


def celery_init_app(app: Flask) -> Celery:
    """Create the Celery app bound to ``app`` and store it in ``app.extensions['celery']``.

    As in Flask's Celery pattern, the settings live in ``app.config["CELERY"]``; a key given
    there (by a test, say) wins over the one ``celery_settings`` computes.
    """

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    app.config["CELERY"] = {**celery_settings(app), **app.config.get("CELERY", {})}
    if app.config["CELERY"]["broker_url"].startswith("sqla+"):
        # Passing polling_interval through broker_transport_options crashes the worker
        # (kombu hands unknown options to create_engine), so set it on the transport class,
        # with the channel that publishes with one INSERT.
        kombu_sqla.Transport.polling_interval = EMBEDDED_POLLING_SECONDS
        kombu_sqla.Transport.Channel = EmbeddedChannel
    elif app.config["CELERY"]["broker_url"].startswith(("redis://", "rediss://")):
        from kombu.transport import redis as kombu_redis

        kombu_redis.Transport.Channel = _redis_channel(kombu_redis.Channel)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app
