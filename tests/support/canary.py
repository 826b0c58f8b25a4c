"""Canaries: unique strings planted in what people type, then looked for where they must not be
(another person's page, a mail, the raw database)."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.support.services import libpq_url, service_unavailable

#: what ``canary`` makes when its label is letters and digits only (the route sweep's leak check)
CANARY = re.compile(r"CANARY-[A-Za-z0-9]+-[0-9a-f]{32}")


def canary(label: str) -> str:
    """A fresh canary string: ``CANARY-<label>-<32 hex digits>``."""
    return f"CANARY-{label}-{uuid.uuid4().hex}"


def database_bytes(database_url: str) -> bytes:
    """Everything the database holds, as bytes: the SQLite files or a full pg_dump."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database)
        files = [path, *(path.with_name(path.name + s) for s in ("-journal", "-wal"))]
        return b"".join(f.read_bytes() for f in files if f.exists())
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        service_unavailable("pg_dump")
    done = subprocess.run(  # noqa: S603
        [pg_dump, "--no-owner", libpq_url(url.render_as_string(hide_password=False))],
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


def encodings(text: str) -> list[bytes]:
    """The forms a plain-text leak could take: UTF-8, UTF-16, and hex (how pg_dump prints
    bytea, so plaintext stored in a binary column would show as hex)."""
    raw = text.encode()
    return [
        raw,
        text.encode("utf-16-le"),
        text.encode("utf-16-be"),
        raw.hex().encode(),
        raw.hex().upper().encode(),
    ]


def leaks(dump: bytes, *canaries: str) -> list[str]:
    """The canaries found in ``dump`` in any plain encoding."""
    lowered = dump.lower()
    return [c for c in canaries for form in encodings(c) if form.lower() in lowered]
