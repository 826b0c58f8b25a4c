"""PostgreSQL: a transaction that wrote nothing ends with COMMIT, so the connection keeps its
prepared statements.

psycopg prepares a statement on the server once it has run five times on a connection, and
from then on sends only its name and parameters: the server neither parses nor plans it
again. But psycopg forgets every prepared statement at a ROLLBACK (it sends ``DEALLOCATE
ALL``: a rolled-back transaction may have dropped or changed what they refer to), and a
request that reads without committing (a form page, which writes no audit row) ends with a
ROLLBACK when its session closes. The next five runs of each statement on that connection
then go unprepared: 0.9–1.8 ms more of the server's CPU on a page (README, *PostgreSQL
durability*).

A transaction with no transaction id has inserted, updated, deleted and locked nothing
(``pg_current_xact_id_if_assigned()`` is NULL), and made no schema change: its COMMIT and its
ROLLBACK leave the database the same, and both end its snapshot and its ``SET LOCAL``
settings. Such a transaction, left open when its connection goes back to the pool, is asked
that one question and committed; any other, and one already in error, is rolled back as
before. Two round trips either way (the question and COMMIT, or ROLLBACK and
``DEALLOCATE ALL``), and the statements stay prepared.

The same connections make their cursors ``DescribedOnDemand``. SQLAlchemy reads a cursor's
``description`` after every statement that returns rows, and psycopg builds it anew on each
read: a ``Column`` per column, each with a look-up of its type (45 µs for the case page's 25
columns, 60 µs a request with the login session's). SQLAlchemy then only asks whether it is
None: a statement it has run before keeps its result's columns with its compiled form. Built
when first read, the description costs nothing in steady use and is the same when read.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace

import psycopg
from psycopg import pq
from sqlalchemy import event
from sqlalchemy.engine import Engine

_WROTE = "SELECT pg_current_xact_id_if_assigned() IS NOT NULL"


class KeepsPrepared(psycopg.Connection):
    """psycopg's connection, whose ``rollback`` commits a transaction that wrote nothing."""

    def rollback(self) -> None:
        if self.pgconn.transaction_status == pq.TransactionStatus.INTRANS:
            if not self.execute(_WROTE).fetchone()[0]:
                self.commit()
                return
        super().rollback()


#: the statuses of a result whose ``description`` is not None (besides one with columns)
_ROWS = (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.SINGLE_TUPLE, pq.ExecStatus.TUPLES_CHUNK)


class DescribedOnDemand(psycopg.Cursor):
    """psycopg's cursor, whose ``description`` makes its columns when they are first read."""

    __slots__ = ()

    @property
    def description(self) -> Sequence[psycopg.Column] | None:
        """The current result's columns, as psycopg's, or None when it has no rows."""
        result = self.pgresult
        if result and (result.nfields or result.status in _ROWS):
            return _Columns(self, result)
        return None


class _Columns(Sequence):
    """The columns of one result, each made as psycopg makes it, all at the first read."""

    __slots__ = ("_cursor", "_result", "_made")

    def __init__(self, cursor: psycopg.Cursor, result: pq.abc.PGresult):
        self._cursor, self._result, self._made = cursor, result, None

    def _columns(self) -> list[psycopg.Column]:
        if self._made is None:
            # the result described, whichever the cursor holds by now
            source = SimpleNamespace(
                pgresult=self._result,
                _encoding=self._cursor._encoding,
                adapters=self._cursor.adapters,
            )
            self._made = [psycopg.Column(source, i) for i in range(self._result.nfields)]
        return self._made

    def __len__(self) -> int:
        return self._result.nfields

    def __getitem__(self, index):
        return self._columns()[index]

    def __repr__(self) -> str:
        return repr(self._columns())


def keep_prepared_statements(engine: Engine) -> None:
    """Make ``engine``'s PostgreSQL connections ``KeepsPrepared``, with ``DescribedOnDemand``
    cursors (SQLite has no such cache)."""
    if engine.dialect.name != "postgresql":
        return

    @event.listens_for(engine, "do_connect")
    def _connect(dialect, connection_record, cargs, cparams):
        return KeepsPrepared.connect(*cargs, cursor_factory=DescribedOnDemand, **cparams)
