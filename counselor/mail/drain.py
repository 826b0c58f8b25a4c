"""One "drain the outbox" task on its way to the workers at a time, instead of one per mail.

A request that queued mail commits the outbox rows with its own changes; once committed it
sets a flag, *drain pending*, with one conditional write, and sends the worker a drain task
only when that write was its own (the flag was not set). The drain task clears the flag
FIRST, then reads every message due and sends each (claimed one by one, as a message's own
task claims it: ``services.claim``). Handing a task to the broker was a third of a portal
submit when the submit queued the counselor's mail; a submit now queues none (the worker's
sweep makes it, counselor.mail.submitted, and asks for the drain once per batch), and the
flag still means that a burst of mail (a sweep's batch, the reminders, an alert's mail per
request) hands the broker one drain, and that with a dead worker the broker holds one drain
instead of a task per mail.

Why no committed message is left unsent (the race, argued). Call a request R, its message M,
and the flag F. R sets F only after M is committed, so every step of R below comes after M
is visible to any new read.

- R's write sets F: R sends a drain D. D clears F and then reads; its read starts after
  M's commit, so D sees M (if D is lost, see the last point).
- R's write finds F set: F was set by a request R' whose drain D' has not cleared it yet
  when R looked (the flag's write is atomic: a Redis ``SET NX``, or one row's upsert,
  which waits on a concurrent write of the row and then re-checks it). D' clears F after
  R's look, hence after M's commit, and reads after clearing: D' sees M.
- A drain that read before M's commit but clears after it cannot be: it clears first.
- Two drains may read the same message (a second one sent while the first is still
  sending): each message is taken by one conditional UPDATE, so it is sent once.
- A drain that never runs (the broker lost it, or its publish failed and the flag was
  cleared too late): F expires after the republish wait (``COUNSELOR_MAIL_REPUBLISH_SECONDS``),
  so a later request sends a new drain; and beat's sweep publishes each message that is
  due and not sent after that same wait, as it did before. No message depends on the flag.
  (So does a Redis flag whose connection closed after the SET reached Redis and before its
  answer: the SET sent again on a new connection finds the flag set, and no drain is sent
  for it; the flag expires.)

Where the flag lives: a Redis key on the broker's Redis when the broker is Redis (one round
trip after the commit); otherwise the ``mail_drain`` table's one row in the app's database.
On PostgreSQL that row is written in a short transaction of its own after the request's
commit, as above. On SQLite it is written in the request's own transaction, which costs no
second commit and is just as safe: SQLite has one writer at a time, and a transaction that
queues mail writes (the outbox row), so the drain's clearing, a write, commits either before
that transaction's first write (then the request finds no flag, sets it, and sends a drain
once committed) or after its commit (then the drain's read, after its clearing, sees M). A
request whose transaction rolls back leaves no flag set.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import timedelta

from flask import Flask, current_app
from sqlalchemy import bindparam, delete
from sqlalchemy.dialects import postgresql, sqlite

from counselor.core.models import utcnow
from counselor.core.precompiled import Precompiled
from counselor.extensions import db
from counselor.mail.models import MailDrain
from counselor.worker import sender

log = logging.getLogger(__name__)

DRAIN_TASK = "counselor.mail.tasks.drain_outbox"
_TABLE = MailDrain.__table__
_ROW = 1


class RedisFlag:
    """The flag as a Redis key of the broker's database, per queue (tests share a database).

    Each command goes straight onto a connection of the flag's own, one per thread of the
    process, made again after a fork: redis-py's client checks a connection out of its pool
    for every command (a lock, a pid check, a trial read of the socket with two ``ioctl``
    calls, its metrics hooks), about 90 µs of CPU per ``SET`` against about 25 µs sent on the
    connection itself; every transaction that queues mail on the Redis broker sets it. A
    connection that was idle and is found closed (Redis restarted) is opened again and the
    command sent once more, as the pool would; any other failure raises, as before.
    """

    def __init__(self, url: str, queue: str):
        from redis.connection import Connection, parse_url

        self.key = f"counselor:mail-drain:{queue}"
        options = parse_url(url)
        self._class = options.pop("connection_class", Connection)
        # a web request waits at most about a second for a Redis that does not answer
        self._options = {**options, "socket_connect_timeout": 1, "socket_timeout": 1}
        self._local = threading.local()

    def _command(self, *args):
        from redis.exceptions import ConnectionError as Closed

        mine, pid = getattr(self._local, "connection", None), os.getpid()
        reused = mine is not None and mine[1] == pid
        if not reused:  # this thread's first command, or the first after a fork
            mine = self._local.connection = (self._class(**self._options), pid)
        connection = mine[0]
        try:
            connection.send_command(*args)
            return connection.read_response()
        except Closed:
            connection.disconnect()
            if not reused:
                raise
        except BaseException:
            connection.disconnect()  # no reply left half read on the socket
            raise
        try:  # found closed: once more on a new socket (``send_command`` connects)
            connection.send_command(*args)
            return connection.read_response()
        except BaseException:
            connection.disconnect()
            raise

    def set(self, ttl: int) -> bool:
        """Set the flag unless it is set; True when this call set it."""
        answer = self._command("SET", self.key, utcnow().isoformat(), "NX", "EX", max(ttl, 1))
        return answer is not None

    def clear(self) -> None:
        """Clear the flag."""
        self._command("DEL", self.key)


class TableFlag:
    """The flag as the one row of ``mail_drain``: present means a drain is pending."""

    def __init__(self, dialect: str):
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(_TABLE).values(id=_ROW, kicked_at=bindparam("now"))
        # a row older than the republish wait is a lost drain's: taken over as if absent
        #: SQLite: the flag is written in the request's own transaction (see above)
        self.in_transaction = dialect == "sqlite"
        #: compiled once: SQLite writes it in a request that queues mail
        self.upsert = Precompiled(
            statement.on_conflict_do_update(
                index_elements=[_TABLE.c.id],
                set_={"kicked_at": statement.excluded.kicked_at},
                where=_TABLE.c.kicked_at < bindparam("stale_before"),
            ).returning(_TABLE.c.id)  # a row back when written (psycopg's rowcount is -1 here)
        )

    def set(self, ttl: int, in_session: bool = False) -> bool:
        """Write the row unless a fresh one is there, in a transaction of its own (or with
        ``in_session``, in the session's); True when this call wrote it."""
        now = utcnow()
        parameters = {"now": now, "stale_before": now - timedelta(seconds=ttl)}
        if in_session:
            return self.upsert.first(parameters) is not None
        with db.engine.begin() as conn:
            return conn.execute(self.upsert.statement, parameters).first() is not None

    def clear(self) -> None:
        """Delete the row (committed before this returns)."""
        with db.engine.begin() as conn:
            conn.execute(delete(_TABLE))


def _flag(app: Flask) -> RedisFlag | TableFlag:
    flag = app.extensions.get("mail_drain_flag")
    if flag is None:
        conf = app.extensions["celery"].conf
        url = conf.broker_url or ""
        if url.startswith(("redis://", "rediss://")):
            flag = RedisFlag(url, conf.task_default_queue)
        else:
            flag = TableFlag(db.engine.dialect.name)
        app.extensions["mail_drain_flag"] = flag
    return flag


#: what the transaction that queued mail leaves for after its commit
SEND, PENDING, AFTER_COMMIT = "send", "pending", "after commit"


def asked() -> str:
    """For the first message a transaction queues: the flag written now when it lives in the
    transaction (SQLite's row: SEND when this transaction set it, PENDING when a drain is
    pending), else AFTER_COMMIT. ``committed`` acts on it once the transaction commits."""
    flag = _flag(current_app)
    if isinstance(flag, TableFlag) and flag.in_transaction:
        ttl = current_app.config["COUNSELOR_MAIL_REPUBLISH_SECONDS"]
        return SEND if flag.set(ttl, in_session=True) else PENDING
    return AFTER_COMMIT


def committed(what: str) -> None:
    """After the commit of a transaction that queued mail: send the drain (``asked``'s SEND),
    or set the flag and send one unless a drain is pending (AFTER_COMMIT)."""
    if what == SEND:
        _send(_flag(current_app))
    elif what == AFTER_COMMIT:
        kick()


def kick() -> bool:
    """Set the flag, then send a drain task unless one is pending (after the messages'
    commit, in a transaction of its own).

    False (nothing raised) when the flag or the broker cannot be reached: the mail waits in
    the outbox for beat's sweep, as a failed publish always did.
    """
    flag = _flag(current_app)
    try:
        if not flag.set(current_app.config["COUNSELOR_MAIL_REPUBLISH_SECONDS"]):
            return True  # a pending drain reads after our commit
    except Exception as exc:  # noqa: BLE001 - any failure means "beat's sweep publishes it"
        log.warning("mail drain not requested, flag unreachable: %s", type(exc).__name__)
        return False
    return _send(flag)


def _send(flag: RedisFlag | TableFlag) -> bool:
    try:
        sender(current_app, DRAIN_TASK).send()
    except Exception as exc:  # noqa: BLE001 - as above
        log.warning("mail drain not published, broker unreachable: %s", type(exc).__name__)
        try:
            flag.clear()  # so that the next request tries again (the sweep covers this one)
        except Exception:  # noqa: BLE001 - the flag expires by itself
            log.warning("mail drain flag left set; it expires after the republish wait")
        return False
    return True


def clear() -> None:
    """The drain's first step: clear the flag, so that mail committed from now on sends a
    new drain (raises if the flag cannot be reached: the drain then does not run)."""
    _flag(current_app).clear()
