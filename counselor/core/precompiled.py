"""Core statements compiled once per process and run on the driver's cursor.

A statement run through ``Connection.execute`` pays SQLAlchemy's machinery on every run: its
cache key made and looked up, an execution context built, the parameters gathered bind by
bind, a result set up, a row made of each tuple. On the portal's small statements that work
was about five times the driver's own (an autosave's three statements, a submit's, the
read's audit row): a fifth of a save's CPU around three statements that SQLite runs in
microseconds.

A ``Precompiled`` statement is compiled by SQLAlchemy once for each dialect it meets (the
SQL text, the order of its parameters, each parameter's bind processor and each result
column's processor, all SQLAlchemy's own), and each run does only what remains: the values
put in that order and processed as SQLAlchemy processes them (UUIDs, SQLite's datetimes,
sealed bytes, JSON), the statement run on the session's own connection (``session.
connection()`` first: the transaction begins as it would, SQLite's writers' queue and
PostgreSQL's transaction are the session's), and the rows processed as SQLAlchemy's
results are. The engine's ``before_cursor_execute`` and ``after_cursor_execute`` listeners
are called as SQLAlchemy calls them (the statement counters, SQLite's writers' queue and the
audit's durability listener see every statement), echo logs the statement, and an error of
the driver is raised as SQLAlchemy raises it (and a lost connection is invalidated).

What cannot be compiled once is refused when it is compiled: parameters expanded or
rendered at execution (``IN`` lists, ``literal_execute``), column defaults computed in Python
at execution, and execution options other than those listed in ``_OPTIONS``.
"""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import exc
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import Executable

from counselor.extensions import session_connection

#: execution options a precompiled statement may carry (none changes how it runs here:
#: the rowcount is always read)
_OPTIONS = frozenset({"preserve_rowcount", "synchronize_session"})

#: a parameter without a value given: required, or its bound value
_UNSET = object()
#: a dialect's attribute: its compiled forms by ``Precompiled``
_FORMS = "_counselor_precompiled"
_LOCK = threading.Lock()


class Precompiled:
    """``statement`` (a Core statement made once, at module level) compiled once per dialect
    and run on the session's connection: ``first``, ``all``, ``named``, ``run`` and
    ``run_many`` (see the module).

    ``keys`` are the columns an INSERT or UPDATE without ``values`` for them is given as
    parameters at every run (what ``Connection.execute`` compiles from the parameters' keys);
    a run must give each of them.

    With ``binary_results`` PostgreSQL sends the result's columns in its binary format (psycopg
    makes the same Python values of them): a sealed column comes as its bytes, where the text
    format doubles it into hex for the server to write and the driver to read back."""

    def __init__(
        self, statement: Executable, keys: Iterable[str] = (), binary_results: bool = False
    ):
        self.statement = statement
        self.keys = sorted(keys)
        self.binary_results = binary_results
        # a process has one engine, so one dialect: its form is kept at hand
        self._last: _Compiled | None = None

    def compiled(self, dialect: Dialect, many: bool = False) -> _Compiled:
        """The statement's form for ``dialect`` (compiled at its first use, then kept with
        the dialect: the forms for another engine's, such as a test's app, go with it); with
        ``many``, its form for a list of parameters (``run_many``)."""
        last = self._last
        if last is not None and last.dialect is dialect and not many:
            return last
        with _LOCK:
            forms = dialect.__dict__.setdefault(_FORMS, {})
            found = forms.get((self, many))
            if found is None:
                found = forms[(self, many)] = _Compiled(self, dialect, many)
            if not many:
                self._last = found
        return found

    def first(self, parameters: Mapping[str, Any]) -> dict | None:
        """The first row of the statement's result (the rest unread) as a dict by column key,
        processed as SQLAlchemy's rows are; None for no row."""
        connection = session_connection()
        return self.compiled(connection.dialect).first(connection, parameters)

    def all(self, parameters: Mapping[str, Any]) -> list[tuple]:
        """Every row of the statement's result as a tuple in column order, processed as
        SQLAlchemy's rows are."""
        connection = session_connection()
        return self.compiled(connection.dialect).all(connection, parameters)

    def named(self, parameters: Mapping[str, Any]) -> list[tuple]:
        """``all``'s rows as named tuples (a column by position or by key, as an attribute)."""
        connection = session_connection()
        form = self.compiled(connection.dialect)
        return list(map(form.row_type._make, form.all(connection, parameters)))

    def run(self, parameters: Mapping[str, Any]) -> int:
        """Run the statement for its effect; its rowcount (rows it returns are not read)."""
        connection = session_connection()
        return self.compiled(connection.dialect).run(connection, parameters)

    def run_many(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Run the statement for each of ``rows`` (two or more) in one ``executemany``, as
        SQLAlchemy runs a list of parameters; its rowcount. Where SQLAlchemy writes one
        INSERT of many rows instead (its "insertmanyvalues", PostgreSQL's way), SQLAlchemy
        runs it."""
        connection = session_connection()
        form = self.compiled(connection.dialect, many=True)
        if form.by_sqlalchemy:
            return connection.execute(self.statement, list(rows)).rowcount
        return form.run(connection, rows, many=True)


class _Context:
    """What the engine's cursor listeners are given as the execution context of a
    precompiled statement: its SQLAlchemy compiled form, the statement's text and parameters
    as sent (``ExecutionContext``'s attributes of those names)."""

    is_crud = False

    def __init__(self, compiled, statement: str, parameters, cursor, executemany: bool):
        self.compiled, self.statement, self.parameters = compiled, statement, parameters
        self.cursor, self.executemany = cursor, executemany


class _Compiled:
    """One statement compiled for one dialect: its text, its parameters' order and
    processors, its result columns' keys and processors."""

    def __init__(self, owner: Precompiled, dialect: Dialect, many: bool = False):
        statement = owner.statement
        options = set(statement.get_execution_options()) - _OPTIONS
        if options:
            raise exc.ArgumentError(f"a precompiled statement runs without {sorted(options)}")
        compiled = statement.compile(dialect=dialect, column_keys=owner.keys, for_executemany=many)
        #: a list of parameters is run by SQLAlchemy (as one statement of many rows)
        self.by_sqlalchemy = bool(many and compiled._insertmanyvalues)
        if many and compiled._result_columns and not self.by_sqlalchemy:
            raise exc.ArgumentError("a precompiled statement run for many rows returns none")
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise exc.ArgumentError(
                "a precompiled statement has no parameter expanded or rendered at execution "
                "(IN lists, literal_execute): compile such a statement at each run"
            )
        if compiled.insert_prefetch or compiled.update_prefetch:
            columns = [c.key for c in (*compiled.insert_prefetch, *compiled.update_prefetch)]
            raise exc.ArgumentError(
                f"a precompiled statement computes no default at execution: give {columns} "
                "as parameters (``keys``) or as values"
            )
        if compiled.schema_translate_map:
            raise exc.ArgumentError("a precompiled statement has no schema translation")
        self.compiled = compiled
        self.dialect = dialect
        self.sql = compiled.string
        processors = compiled._bind_processors
        escaped = compiled.escaped_bind_names
        # each parameter as sent: (its key, its name in the statement, the value when none is
        # given, as SQLAlchemy's ``construct_params`` reads them, and its processor)
        by_name: dict[str, tuple] = {}
        for bind, name in compiled.bind_names.items():
            if bind.callable:
                raise exc.ArgumentError(f"parameter {bind.key!r} has a callable value")
            value = _UNSET if bind.required else bind.value
            slot = (bind.key, escaped.get(name, name), value, processors.get(name))
            if by_name.setdefault(name, slot) != slot:
                raise exc.ArgumentError(f"parameter {name!r} is bound twice, differently")
        if compiled.positional:
            self.slots = [by_name[name] for name in compiled.positiontup]
            self.positional = dialect.execute_sequence_format
        else:
            self.slots = list(by_name.values())
            self.positional = None
        columns = compiled._result_columns
        self.keys = tuple(column[0] for column in columns)
        if len(set(self.keys)) != len(self.keys):
            raise exc.ArgumentError(f"a precompiled statement's columns share names: {self.keys}")
        self._types = [column[3] for column in columns]
        #: the driver's options of each run (psycopg's ``binary``; SQLite's takes none)
        binary = owner.binary_results and dialect.name == "postgresql"
        self.options = {"binary": True} if binary else {}
        #: PostgreSQL: a run takes the connection's spare cursor (``_spare_cursor``)
        self.reuses_cursor = dialect.name == "postgresql"
        self._row_type = None
        #: (position, processor) of each result column with a processor, made at the first
        #: result (a processor may depend on the driver's type of the column)
        self._processors: list[tuple[int, Any]] | None = None

    @property
    def row_type(self) -> type:
        """``Precompiled.named``'s rows: a named tuple of the columns' keys (made at its first
        use; keys that cannot name a field are refused then)."""
        if self._row_type is None:
            self._row_type = namedtuple("Row", self.keys) if self.keys else tuple
        return self._row_type

    def parameters(self, given: Mapping[str, Any]):
        """The DBAPI parameters of a run given ``given``."""
        values = []
        for key, name, value, processor in self.slots:
            if key in given:
                value = given[key]
            elif name in given:
                value = given[name]
            elif value is _UNSET:
                raise exc.InvalidRequestError(
                    f"A value is required for bind parameter {key!r}", code="cd3x"
                )
            values.append(value if processor is None else processor(value))
        if self.positional is not None:
            return self.positional(values)
        return {slot[1]: value for slot, value in zip(self.slots, values, strict=True)}

    def _execute(self, connection: Connection, given, many: bool = False):
        """The statement run on ``connection``'s driver connection for the parameters
        ``given`` (with ``many``, a list of them, in one ``executemany``); its open cursor."""
        if many:
            parameters = [self.parameters(one) for one in given]
        else:
            parameters = self.parameters(given)
        transaction = connection._transaction
        if (transaction is not None and not transaction.is_active) or (
            connection._nested_transaction is not None
            and not connection._nested_transaction.is_active
        ):
            connection._invalid_transaction()
        sql = self.sql
        pooled = connection.connection
        cursor = _spare_cursor(pooled) if self.reuses_cursor else None
        if cursor is None:
            cursor = pooled.dbapi_connection.cursor()
        context = None
        try:
            events = connection._has_events or connection.engine._has_events
            if events:
                context = _Context(self.compiled, sql, parameters, cursor, many)
                for listener in connection.dispatch.before_cursor_execute:
                    sql, parameters = listener(connection, cursor, sql, parameters, context, many)
            if connection._echo:
                connection._log_info(sql)
                connection._log_parameters(parameters, "precompiled", ismulti=many)
            if many:
                cursor.executemany(sql, parameters)
            else:
                cursor.execute(sql, parameters, **self.options)
            if events:
                connection.dispatch.after_cursor_execute(
                    connection, cursor, sql, parameters, context, many
                )
        except BaseException as error:
            connection._handle_dbapi_exception(error, sql, parameters, cursor, None)
        return cursor

    def _done(self, connection: Connection, cursor) -> None:
        """The run's cursor, its rows read: kept as the connection's spare (``_spare_cursor``)
        where the driver's cursors are reusable, else closed."""
        if self.reuses_cursor:
            pooled = connection.connection
            pooled.info[_SPARE] = (pooled.dbapi_connection, cursor)
        else:
            cursor.close()

    def _fetched(self, connection: Connection, cursor, one: bool) -> list[tuple]:
        """The cursor's rows (with ``one`` its first row only, or none), processed as
        SQLAlchemy's rows are; the cursor kept as the spare or closed (``_done``)."""
        try:
            processors = self._processors
            if processors is None:
                processors = self._processors = self._result_processors(cursor)
            rows = cursor.fetchone() if one else cursor.fetchall()
        except BaseException as error:
            cursor.close()
            connection._handle_dbapi_exception(error, self.sql, None, cursor, None)
        self._done(connection, cursor)
        if one:
            rows = [] if rows is None else [rows]
        if not processors:
            return rows
        out = []
        for row in rows:
            values = list(row)
            for i, process in processors:
                values[i] = process(values[i])
            out.append(tuple(values))
        return out

    def _result_processors(self, cursor) -> list[tuple[int, Any]]:
        description = cursor.description
        if description is None or len(description) != len(self._types):
            raise exc.InvalidRequestError(
                f"a precompiled statement's result has {len(description or ())} columns, "
                f"its compiled form {len(self._types)}"
            )
        found = []
        for i, (type_, column) in enumerate(zip(self._types, description, strict=True)):
            processor = type_._cached_result_processor(self.dialect, column[1])
            if processor is not None:
                found.append((i, processor))
        return found

    def first(self, connection: Connection, given: Mapping[str, Any]) -> dict | None:
        cursor = self._execute(connection, given)
        rows = self._fetched(connection, cursor, one=True)
        return dict(zip(self.keys, rows[0], strict=True)) if rows else None

    def all(self, connection: Connection, given: Mapping[str, Any]) -> list[tuple]:
        cursor = self._execute(connection, given)
        return self._fetched(connection, cursor, one=False)

    def run(self, connection: Connection, given, many: bool = False) -> int:
        cursor = self._execute(connection, given, many)
        rowcount = cursor.rowcount
        self._done(connection, cursor)
        return rowcount


#: ``info`` of a pooled connection: (its driver connection, a cursor of it no run is using)
_SPARE = "counselor.precompiled.spare"


def _spare_cursor(pooled):
    """The pooled connection's spare cursor, taken (None when there is none: the first run on
    this driver connection, or one nested in another's listeners). PostgreSQL: psycopg's
    cursor holds the result client-side, fully read, and a new cursor cost a run about 10 µs
    of CPU (a cursor made, and its type adapters looked up anew for every parameter and
    result column); the one kept is the cursor of the run before, its rows read. It is kept
    with the driver connection it came from, so a connection opened again (invalidated,
    recycled) never gets another's. A run that fails closes its cursor (none is kept)."""
    spare = pooled.info.pop(_SPARE, None)
    if spare is None or spare[0] is not pooled.dbapi_connection or spare[1].closed:
        return None
    return spare[1]
