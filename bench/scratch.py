"""A scratch app for benchmarks: a fresh temporary folder with its own SQLite database."""

from __future__ import annotations

import tempfile
from pathlib import Path


def scratch_config(prefix: str = "counselor-bench-", **more) -> dict:
    """The configuration of an app whose instance folder and SQLite database are new, in a
    temporary folder named by ``prefix``; ``more`` adds to it or overrides it."""
    from counselor.config import new_encryption_key

    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    return {
        "INSTANCE_PATH": str(tmp),
        "SECRET_KEY": "bench-secret",
        "SERVER_NAME": "bench.local",
        "COUNSELOR_ENCRYPTION_KEYS": new_encryption_key(),
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.sqlite3'}",
        "WTF_CSRF_ENABLED": False,  # benchmarks drive forms and sign in without a browser
        **more,
    }
