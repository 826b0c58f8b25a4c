"""SQL functions written once for each database (SQLite, PostgreSQL), for statements that
bring many rows of a table back as one column of their parent's row."""

from __future__ import annotations

import json

from sqlalchemy import Text
from sqlalchemy.ext.compiler import compiles
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
