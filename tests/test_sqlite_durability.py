"""SQLite runs in WAL mode with synchronous=NORMAL, set by the app on every connection."""

from __future__ import annotations

import sqlite3

from counselor.extensions import _sqlite_pragmas


def test_every_sqlite_connection_gets_wal_normal_and_foreign_keys(tmp_path):
    conn = sqlite3.connect(tmp_path / "db.sqlite3")
    try:
        _sqlite_pragmas(conn, None)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    finally:
        conn.close()
