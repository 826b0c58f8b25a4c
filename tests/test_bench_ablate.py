"""bench/ablate.py: the app with a promise switched off (bench/load.py --promises-off) still
serves the measured pages as the real app does, and the switched-off work is really gone.

Each run is a process of its own (``tests.support.ablated_app``): the switches replace
functions process-wide, some before the app's modules are imported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(switches: str, database_url: str, folder: Path) -> dict:
    if not database_url.startswith("postgresql"):
        database_url = f"sqlite:///{folder / 'bench.sqlite3'}"  # a scratch file of its own
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.ablated_app", switches, database_url, str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def real(database_url, tmp_path_factory) -> dict:
    """The measured pages and the promises' work of the real app."""
    return _run("-", database_url, tmp_path_factory.mktemp("real"))


def _ablated(switch: str, database_url: str, tmp_path: Path, real: dict) -> dict:
    ablated = _run(switch, database_url, tmp_path)
    for page in ("caseload", "autosave", "submit", "refused"):
        assert ablated[page] == real[page], page
    assert real["caseload"] == [200, {"rows": 50, "labels": True}]
    assert [status for status, _ in real["autosave"]] == [200, 200]
    assert real["submit"][0] == 302 and real["submit"][1].endswith("?submitted=1")
    return ablated


def test_without_audit_no_event_is_written(real, database_url, tmp_path):
    ablated = _ablated("audit", database_url, tmp_path, real)
    assert real["work"]["audit"] >= 3 and real["submit_work"]["audit"] >= 1
    assert ablated["work"]["audit"] == ablated["submit_work"]["audit"] == 0


def test_without_encryption_no_aes_gcm_after_warm_up(real, database_url, tmp_path):
    ablated = _ablated("encryption", database_url, tmp_path, real)
    assert real["work"]["aes"] >= 50 and real["submit_work"]["aes"] >= 1
    assert ablated["work"]["aes"] == ablated["submit_work"]["aes"] == 0


def test_without_session_work_a_seen_cookie_is_not_resolved_again(real, database_url, tmp_path):
    ablated = _ablated("session", database_url, tmp_path, real)
    work = ablated["work"]
    assert real["work"]["login_session_statements"] >= 1
    assert real["work"]["sid_hashes"] >= 2 and real["work"]["csrf_hmacs"] >= 2
    assert work["login_session_statements"] == work["sid_hashes"] == work["csrf_hmacs"] == 0
    # still refused without a cookie, or with a forged one (compared with the real app above)
    assert real["refused"] == {"caseload": 302, "autosave": 404, "forged": 404}
