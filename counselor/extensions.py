"""Flask extensions, created unbound so that create_app() can bind them to any app."""

from __future__ import annotations

import sqlite3
from functools import wraps

from flask.globals import _cv_app, request_ctx
from flask_bootstrap import Bootstrap5
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import _app_ctx_id
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.orm.session import SessionTransactionState

_ACTIVE = SessionTransactionState.ACTIVE


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations name constraints predictably."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


# Pages commit (the audit event of a read) before they render. Expiring every loaded object
# at that commit made each template re-read what the view had just loaded, one statement per
# row (2,008 statements for a caseload of 1,000 cases). A session lives for one request or one
# task, and code that needs a row's current state after a concurrent change locks and reloads
# it (``with_for_update``/``populate_existing``), so nothing relies on expiry at commit.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})


def core_execute(statement, parameters=None):
    """Run a Core statement (tables and columns, no mapped class) on the session's connection,
    in the session's transaction. ``db.session.execute`` runs it the same way, after finding
    the bind and passing it through the ORM's execution path: a third of the statement's cost
    on the portal's small reads and writes, for nothing a Core statement uses."""
    return session_connection().execute(statement, parameters)


#: ``Session.info``: (the session's transaction, the connection it gave ``session_connection``)
_CONNECTION = "counselor.connection"


def session_connection(session: Session | None = None) -> Connection:
    """``db.session.connection()``: the connection of the session's transaction (begun now if
    none is open). Asked again while that transaction is the session's and active, it is the
    same connection (``SessionTransaction`` keeps one per bind until it ends), found here
    without the session's look-up of its bind and its transaction's state checks: a save
    asks seven times, and each look-up cost about as much as a small statement's run.
    ``session``: another session than the request's (an event's)."""
    session = session or request_session()
    transaction = session._transaction
    found = session.info.get(_CONNECTION)
    if found is not None and found[0] is transaction and transaction._state is _ACTIVE:
        return found[1]
    connection = session.connection()
    session.info[_CONNECTION] = (session._transaction, connection)
    return connection


#: the registry of ``db.session``: its sessions by the id of their application context
_SCOPED = db.session.registry


def request_session() -> Session:
    """``db.session()``: the session of the current application context. When the registry
    is keyed as Flask-SQLAlchemy keys it (the id of the context, ``_app_ctx_id``) and holds
    that context's session, it is found there at once, without the scoped session's three
    calls and the context proxy's look-up (asked for seven or eight times a submit)."""
    ctx = _cv_app.get(None)
    if ctx is not None and _SCOPED.scopefunc is _app_ctx_id:
        found = _SCOPED.registry.get(id(ctx))
        if found is not None:
            return found
    return db.session()


migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
bootstrap = Bootstrap5()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def init_limiter(app) -> None:
    """Bind the limiter, with its before_request check run only when it can limit something.

    The limits this app sets are on routes (``@limiter.limit``), and those are checked inside
    the route's wrapper, not before the request. Flask-Limiter's before_request check only
    finds application-wide, default, blueprint or meta limits (or the in-memory fallback of a
    dead storage); with none of them set it resolved an empty list on every request (5% of an
    autosave). Whether any is set is looked up on each request, so a limit configured or
    added later is checked as before.
    """
    limiter.init_app(app)
    funcs = app.before_request_funcs.setdefault(None, [])
    if limiter._check_request_limit in funcs:  # absent when RATELIMIT_ENABLED is off
        funcs[funcs.index(limiter._check_request_limit)] = _check_when_limited
    # Its after-request hook (deductions of ``deduct_when`` limits, rate-limit headers) and
    # its teardown (resetting its per-request state) have nothing to do on a request no
    # limit looked at: that request has no such state. They run when one did.
    after = app.after_request_funcs.setdefault(None, [])
    for i, hook in enumerate(after):
        if getattr(hook, "func", None) is Limiter._Limiter__inject_headers:
            after[i] = _when_limiter_ran(hook)
    teardown = app.teardown_request_funcs.setdefault(None, [])
    for i, hook in enumerate(teardown):
        if hook == limiter._Limiter__release_context:
            teardown[i] = _when_limiter_ran(hook)


def _check_when_limited() -> None:
    manager = limiter.limit_manager
    if (
        manager._application_limits
        or manager._default_limits
        or manager._blueprint_limits
        or limiter._meta_limits
        or limiter._storage_dead
    ):
        limiter._check_request_limit()


def _when_limiter_ran(hook):
    """``hook`` of the limiter, run only on a request whose limiter state exists (a limit
    was checked); the response (or the teardown's error) passes through otherwise."""

    @wraps(hook)
    def run(value):
        if hasattr(request_ctx, "_limiter_request_context"):
            return hook(value)
        return value

    return run


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """Foreign keys as on PostgreSQL; erased rows overwritten; WAL with synchronous=NORMAL.

    SQLite ignores foreign keys unless asked, and cascades must behave as on PostgreSQL.
    Deleted rows are overwritten too (Debian's default, not every build's), so that an erased
    case leaves not even its ciphertext in the file's free pages.
    In WAL mode readers never wait for the writer, and a commit appends to the log instead of
    rewriting pages under an exclusive lock. With synchronous=NORMAL the log is fsynced at each
    checkpoint rather than at each commit: a committed transaction survives a crash of the
    process (it is in the log file, in the operating system's cache), and a power loss or
    kernel crash can lose the last commits since the last checkpoint but never corrupts the
    database (README, "Durability"). An in-memory database has no journal to switch.
    """
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def flush_erased_pages() -> None:
    """After an erase has committed, leave no copy of the erased rows in SQLite's files.

    In WAL mode a delete is first written to the log; the database file keeps the old pages,
    and the log keeps earlier frames, until a checkpoint. A TRUNCATE checkpoint writes the
    overwritten pages (secure_delete) into the file and empties the log. PostgreSQL needs
    nothing here: its dead tuples are not readable through the database, and VACUUM reclaims
    them on its own schedule.
    """
    if db.engine.dialect.name == "sqlite":
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
