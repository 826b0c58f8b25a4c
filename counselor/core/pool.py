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

from psycopg.pq import TransactionStatus
from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.event.attr import _JoinedListener

_IDLE = TransactionStatus.IDLE

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
        # a request that ran its statements alone (``statements_alone``) and failed before it
        # went back to transactions: the next request's connection is in one again. Here, in
        # the listener the pool calls anyway: another listener cost more than the test.
        if dbapi_connection is not None and dbapi_connection.autocommit:
            _in_transactions(dbapi_connection)

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


def statements_alone(connection: Connection) -> bool:
    """PostgreSQL: run each statement of ``connection`` (the request's, before its first
    statement) as a transaction of its own, committed when it ends (durable, as a COMMIT
    is): no BEGIN and no COMMIT round trip around a request whose one write is one
    statement (a partner's plain submit). False, and nothing changed, where the driver
    cannot (SQLite), or a statement already began the transaction.

    Only the driver's connection is told (psycopg's ``autocommit``, an attribute: no round
    trip); SQLAlchemy's transaction goes on as before, and its COMMIT and ROLLBACK find no
    transaction open on the server and send nothing. ``in_transactions`` goes back (the
    next statement begins a transaction, as psycopg begins one); the pool goes back when the
    connection is returned, whatever became of the request (``ping_when_in_doubt``'s
    listener). SQLAlchemy's own ``isolation_level="AUTOCOMMIT"`` option does the same through
    its execution options, a characteristic reset at the return and an event of its own:
    more of SQLAlchemy's machinery on every such request for one attribute."""
    driver = connection.connection.dbapi_connection
    if connection.dialect.name != "postgresql" or driver.pgconn.transaction_status != _IDLE:
        return False
    driver.autocommit = True
    return True


def alone(connection: Connection) -> bool:
    """Whether ``connection``'s statements run as transactions of their own now
    (``statements_alone``)."""
    return (
        connection.dialect.name == "postgresql"
        and connection.connection.dbapi_connection.autocommit
    )


def in_transactions(connection: Connection) -> None:
    """Back from ``statements_alone``: the next statement begins a transaction that lasts
    until the commit (none may be open: a statement alone has committed)."""
    _in_transactions(connection.connection.dbapi_connection)


def _in_transactions(driver) -> None:
    if not driver.closed:
        # psycopg's setter: on an idle connection (a statement alone has committed) an
        # attribute and a check, no round trip
        driver.autocommit = False


def _has_something_to_read(dbapi_connection) -> bool:
    """Whether the server sent anything on this idle connection (or closed it)."""
    try:
        fd = dbapi_connection.pgconn.socket
    except Exception:  # noqa: BLE001 - a connection libpq already knows is broken has no socket
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


class _SharedListener(_JoinedListener):
    """A listener of the shared join: a listener put on one connection would be every
    connection's, so none may be (listen on the engine)."""

    __slots__ = ()

    def for_modify(self, obj):
        raise exc.InvalidRequestError(
            "this engine's connections share their event dispatch: listen on the engine"
        )


class _SharedJoinedDispatch:
    """``dispatch`` of ``engine``'s connections: the engine's event dispatch joined to the
    ``Connection`` class's once, and that one handed to every connection.

    ``Connection.__init__`` joins the two anew for each connection
    (``self.dispatch._join(engine.dispatch)``), and each event it then fires (connect, begin,
    the statements' before and after, commit) makes its joined listener anew on first use:
    a request's connection rebuilt the same few objects every time, for nothing, since what
    they join is the same for all of them. A joined dispatch holds no state of a connection:
    its listeners are found on the engine's dispatch and the class's when an event fires (a
    listener added to the engine later is met). A listener put on one connection would be
    every connection's: that raises (``_SharedListener``; the app puts none). Another parent
    (an engine made by ``execution_options``) gets a join of its own, as before."""

    def __init__(self, connection_cls: type[Connection], engine: Engine) -> None:
        self._local = Connection.dispatch._for_class(connection_cls)
        self._parent = engine.dispatch
        joined_cls = self._local._joined_dispatch_cls

        class Shared(joined_cls):
            __slots__ = ()

            def __getattr__(self, name):
                listener = getattr(self.local, name)
                joined = _SharedListener(self.parent, listener.name, listener)
                setattr(self, listener.name, joined)
                return joined

        self._joined = Shared(self._local, engine.dispatch)

    def __get__(self, obj, cls):
        return Connection.dispatch if obj is None else self

    def _join(self, parent):
        if parent is self._parent:
            return self._joined
        return self._local._join(parent)


def share_connection_dispatch(engine: Engine) -> None:
    """Give ``engine``'s connections one joined event dispatch (``_SharedJoinedDispatch``)."""
    connection_cls = type("Connection", (Connection,), {})
    connection_cls.dispatch = _SharedJoinedDispatch(connection_cls, engine)
    engine._connection_cls = connection_cls
