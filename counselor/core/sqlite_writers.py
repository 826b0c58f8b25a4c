"""SQLite: writers queue on an operating-system lock, so the next one starts the moment the
last one commits.

SQLite lets one connection write at a time. A connection that finds the write lock taken
does not wait on it: its busy handler sleeps and tries again, 1 ms, then 2, 5, 10, 15, 20,
25 ms and more, until its timeout. A save holds the lock for a few tenths of a millisecond,
so a waiting save mostly sleeps past the moment it was free: under the load bench's autosave,
the app's two workers slept in that handler 434 times in a 2-second run, about 0.76 s of
their 4 s (README, *Where the rest of the time goes*).

Here each connection to a database file first takes an exclusive ``flock`` on a lock file
beside it (``<database>.writers``), right before its transaction's first write (``BEGIN
IMMEDIATE``, or the ``BEGIN`` the driver issues before an INSERT, UPDATE, DELETE or
REPLACE), and lets it go right after its COMMIT or ROLLBACK. A writer that finds it taken
sleeps in the kernel until it is let go and is woken at once: the writers of every process
of the app (web workers, Celery worker and beat, the ``flask`` command) take turns without
polling. SQLite's own lock and busy handler stay as they were underneath (another program
writing to the file, the ``sqlite3`` shell say, is waited for as before).

A thread that already holds the queue through one connection and writes through another
does not queue again (it would wait for itself): that second connection meets SQLite's lock
and its busy timeout, as it did before. The lock file holds nothing and is made owner-only,
as the database is. An in-memory database has no file and no other writer: nothing queues.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading

from sqlalchemy import event
from sqlalchemy.engine import Engine

#: the first word of a statement before which Python's sqlite3 begins a transaction itself
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")

#: per thread: the connection that holds its database's queue now, if any
_held = threading.local()


class QueuedWriters(sqlite3.Connection):
    """A sqlite3 connection that takes its turn in the writers' queue of its database file
    (``queue_path``) before writing, and leaves it at the end of its transaction."""

    _queue_fd: int | None = None
    _queued = False

    def join_queue(self, path: str) -> None:
        self._queue_fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def wait_turn(self) -> None:
        """Hold the queue until the transaction ends (at once if this thread's other
        connection holds it: see the module)."""
        if self._queue_fd is None or self._queued:
            return
        holder = getattr(_held, "connection", None)
        if holder is not None and holder is not self:
            return
        fcntl.flock(self._queue_fd, fcntl.LOCK_EX)
        self._queued = True
        _held.connection = self

    def _leave(self) -> None:
        if self._queued:
            self._queued = False
            if getattr(_held, "connection", None) is self:  # the thread that took it
                _held.connection = None
            fcntl.flock(self._queue_fd, fcntl.LOCK_UN)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._leave()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._leave()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._leave()
            if self._queue_fd is not None:
                os.close(self._queue_fd)
                self._queue_fd = None


def queue_writers(engine: Engine) -> None:
    """Give ``engine``'s connections to a SQLite file their place in its writers' queue."""
    if engine.dialect.name != "sqlite":
        return
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = os.path.abspath(database) + ".writers"

    @event.listens_for(engine, "do_connect")
    def _connect(dialect, connection_record, cargs, cparams):
        connection = sqlite3.connect(*cargs, **cparams, factory=QueuedWriters)
        connection.join_queue(path)
        return connection

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):
        sqlite = cursor.connection
        if not sqlite.in_transaction and statement.lstrip()[:7].upper().startswith(_WRITES):
            wait_turn(sqlite)


def wait_turn(sqlite: sqlite3.Connection) -> None:
    """Take ``sqlite``'s turn in its writers' queue (for a caller about to begin writing on
    the driver's connection itself, as ``BEGIN IMMEDIATE`` does); nothing for a connection
    that has no queue."""
    if isinstance(sqlite, QueuedWriters):
        sqlite.wait_turn()
