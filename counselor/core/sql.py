"""SQL functions written once for each database (SQLite, PostgreSQL), for statements that
bring many rows of a table back as one column of their parent's row, and a value that
PostgreSQL's planner does not see (``run_time``)."""

from __future__ import annotations

import json

from sqlalchemy import Text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


def sql_function(name: str, sqlite: str, postgresql: str) -> type[FunctionElement]:
    """A text-valued SQL function, written for each database (``{}`` stands for its
    arguments, comma-separated)."""
    element = type(name, (FunctionElement,), {"type": Text(), "name": name, "inherit_cache": True})
    for dialect, text in ((None, sqlite), ("postgresql", postgresql)):
        compiles(element, *filter(None, [dialect]))(
            lambda e, compiler, text=text, **kw: text.format(compiler.process(e.clauses, **kw))
        )
    return element


#: bytes as hex digits (SQLite's ``hex`` makes '' of NULL, PostgreSQL's ``encode`` NULL)
hex_of = sql_function("hex", "hex({})", "encode({}, 'hex')")
#: a UUID column as text as each database keeps it: SQLite's 32 hex digits (dashing them in
#: SQL costs more than in Python), PostgreSQL's dashed text (``str(uuid)``), which its driver
#: would otherwise make a ``uuid.UUID`` of
uuid_text = sql_function("uuid_text", "{}", "CAST({} AS TEXT)")
#: an aggregate: the group's texts joined by commas, in no order (``func.aggregate_strings``
#: makes its separator a parameter rendered into the statement on every execution)
joined_parts = sql_function("joined_parts", "group_concat({}, ',')", "string_agg({}, ',')")
#: an aggregate: the group's rows as a JSON array of arrays of the arguments, in no order
#: (SQLite before 3.44 has no ORDER BY in an aggregate), as text; PostgreSQL makes NULL of
#: no rows, SQLite '[]'. Bytes go in as ``hex_of``: SQLite's JSON holds no blobs. A time
#: comes back as its text: SQLite's stored text (no zone, UTC), PostgreSQL's ISO form with
#: its offset; a UUID as SQLite's 32 hex digits or PostgreSQL's dashed text
json_rows = sql_function(
    "json_rows", "json_group_array(json_array({}))", "CAST(json_agg(json_build_array({})) AS TEXT)"
)


def json_list(value: str | None) -> list:
    """The rows of a ``json_rows`` column (none for NULL)."""
    return json.loads(value) if value else []


class RunTime(FunctionElement):
    """``run_time``'s element: its value as a scalar subquery on PostgreSQL."""

    name = "run_time"
    inherit_cache = True

    def __init__(self, value: ColumnElement):
        super().__init__(value)
        self.type = value.type


def run_time(value: ColumnElement) -> RunTime:
    """A parameter (or any expression) that PostgreSQL's planner does not see: a scalar
    subquery of it, ``(SELECT %(x)s)``, which the planner makes an initplan whose value is
    known only when the plan runs. SQLite gets the parameter itself.

    A prepared statement whose estimates hang on its parameters' values may be planned
    anew at every execution: PostgreSQL plans it for the values given five times, then
    compares the plan made for any values (its generic plan) with those, and as long as
    the generic plan's estimated cost is higher (a counselor of 10 cases estimated against
    the average counselor of a practice where some have thousands), it plans every
    execution. With every such parameter out of sight, both plans are the same plan, and
    the generic one, which needs no planning, is taken from the sixth execution on."""
    return RunTime(value)


@compiles(RunTime)
def _run_time(element, compiler, **kw) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(RunTime, "postgresql")
def _run_time_postgresql(element, compiler, **kw) -> str:
    return f"(SELECT {compiler.process(element.clauses, **kw)})"
