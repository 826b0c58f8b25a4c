"""When a pooled PostgreSQL connection is pinged before a request uses it.

A request must not fail because the database restarted, or an administrator ended its
connection, while the connection waited in the pool. SQLAlchemy's ``pool_pre_ping`` makes
sure of that by sending an empty query at every checkout: one round trip per request, client
CPU and server CPU on a machine where the database and the workers share the cores.

This check asks the operating system first. A server that ends a connection (a restart, a
shutdown, ``pg_terminate_backend``, a crashed backend) sends its last message and closes the
socket: an idle connection's socket then has something to read, which it never has while
the connection is alive and idle (the app does not LISTEN). Such a connection, and one idle
for longer than ``PING_AFTER_IDLE_SECONDS`` (a connection can also die without a word: a
network or a host gone), is pinged as ``pool_pre_ping`` would ping it. A ping that finds the
connection gone invalidates the pool, and the pool hands out a new connection: the request
goes on. A connection in use moments ago whose socket is quiet is handed out as it is.
"""

from __future__ import annotations

import select
import time

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

#: a connection idle for longer is pinged even though its socket is quiet
PING_AFTER_IDLE_SECONDS = 5.0
#: ``record.info`` key: when the connection went back to the pool (``time.monotonic``)
_RETURNED = "counselor_returned_at"


def ping_when_in_doubt(engine: Engine) -> None:
    """Ping ``engine``'s pooled connections only when they may be gone (see the module).

    SQLite needs no ping: a file does not hang up.
    """
    if engine.dialect.name == "sqlite":
        return
    dialect = engine.dialect

    @event.listens_for(engine.pool, "checkin")
    def _returned(dbapi_connection, record) -> None:
        record.info[_RETURNED] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _checkout(dbapi_connection, record, proxy) -> None:
        returned = record.info.get(_RETURNED)
        if returned is None:
            return  # just connected: nothing to doubt (SQLAlchemy's pre-ping skips it too)
        idle = time.monotonic() - returned
        if idle <= PING_AFTER_IDLE_SECONDS and not _has_something_to_read(dbapi_connection):
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                # as pool_pre_ping does: this connection and every older one are discarded,
                # and the pool connects anew for this checkout
                raise exc.InvalidatePoolError() from error
            raise


def _has_something_to_read(dbapi_connection) -> bool:
    """Whether the server sent anything on this idle connection (or closed it)."""
    try:
        fd = dbapi_connection.pgconn.socket
    except Exception:  # noqa: BLE001 - a connection libpq already knows is broken has no socket
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))
