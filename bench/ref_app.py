"""The bare reference for bench/load.py: plain Flask, one engine, no extensions.

    gunicorn --worker-class sync --workers 2 bench.ref_app:app   (REF_DATABASE_URL=...)

``GET /page`` renders a Jinja page of 50 rows read with one query; ``POST /save`` takes a
30-field form and inserts one row. It uses the same database, driver and (on SQLite) the
same WAL/NORMAL pragmas as the project, so the ratio measures what the project adds.
"""

from __future__ import annotations

import json
import os
import sqlite3

from flask import Flask, render_template_string, request
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Rows</title></head>
<body><main><h1>Rows</h1><ul>
{% for r in rows %}<li><a href="/row/{{ r.id }}">{{ r.label }}</a> {{ r.created_at }}</li>{% endfor %}
</ul></main></body></html>"""


@event.listens_for(Engine, "connect")
def _pragmas(dbapi_connection, connection_record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def url() -> str:
    """The reference database URL (same driver as the project's)."""
    value = os.environ["REF_DATABASE_URL"]
    if value.startswith("postgresql://"):
        value = "postgresql+psycopg://" + value[len("postgresql://") :]
    return value


def create_schema(database_url: str) -> None:
    """Two tables: 200 rows to list, and the table the POST inserts into."""
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS ref_row"))
        conn.execute(text("DROP TABLE IF EXISTS ref_save"))
        conn.execute(
            text(
                "CREATE TABLE ref_row (id INTEGER PRIMARY KEY, label VARCHAR(200), created_at VARCHAR(40))"
            )
        )
        serial = "SERIAL" if engine.dialect.name == "postgresql" else "INTEGER"
        conn.execute(text(f"CREATE TABLE ref_save (id {serial} PRIMARY KEY, body TEXT)"))
        conn.execute(
            text("INSERT INTO ref_row (id, label, created_at) VALUES (:i, :l, :c)"),
            [
                {"i": i, "l": f"Row number {i}", "c": f"2026-11-{1 + i % 28:02d}"}
                for i in range(200)
            ],
        )
    engine.dispose()


app = Flask(__name__)
engine = create_engine(url()) if "REF_DATABASE_URL" in os.environ else None


@app.get("/page")
def page():
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, label, created_at FROM ref_row ORDER BY id LIMIT 50")
        ).all()
    return render_template_string(PAGE, rows=rows)


@app.post("/save")
def save():
    fields = {f"f{i}": request.form.get(f"f{i}", "") for i in range(30)}
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO ref_save (body) VALUES (:b)"), {"b": json.dumps(fields)})
    return {"ok": True}
