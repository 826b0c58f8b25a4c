"""Run in a process of its own (``python -m tests.support.ablated_app SWITCHES DB_URL DIR``):
the app with ``bench/ablate.py``'s SWITCHES (comma-separated, or ``-`` for none) applied
before its modules are imported, seeded as bench/load.py seeds it (small), and the three pages
bench/load.py measures with ``--promises-off`` requested with Flask's test client, each once to
warm up and then measured. Prints one JSON document: each page's status and shape, and what
the measured requests did of each promise's work (audit rows written, AES-GCM calls, login
session statements, portal session hashes and CSRF HMACs): ``work`` for the caseload and two
saves of a session seen before, ``submit_work`` for a submit (whose session is new).
tests/test_bench_ablate.py compares it with the same run without switches."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def seeded(database_url: str, folder: str) -> dict:
    """Seed as bench/load.py does (small), with the real app: what the ablated app then reads
    is sealed and audited as in the bench. The ids, tokens, pool and the encryption key."""
    from bench import submit
    from bench.seed import bench_app, seed
    from counselor.config import new_encryption_key

    key = new_encryption_key()
    app = bench_app(database_url, Path(folder), COUNSELOR_ENCRYPTION_KEYS=key)
    data = seed(app, small=2, large=60, audit_rows=0)
    pool = submit.seed_pool(app, data["counselors"]["submit"], data["submit_version"], 4)
    return {**data, "pool": pool, "key": key}


def main(switches: str, database_url: str, folder: str) -> dict:
    import subprocess

    from bench import ablate

    # seeded by the real app in a process of its own: the switches must come first here
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.ablated_app", "--seed", database_url, folder],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(done.stdout.strip().splitlines()[-1])
    names = ablate.parse("" if switches == "-" else switches)
    ablate.apply(names)

    import hmac

    from sqlalchemy import event, func, select
    from sqlalchemy.engine import Engine

    from bench.cpu_split import opened_link
    from bench.seed import bench_app, signed_in_client, thirty_answers
    from counselor.core import crypto
    from counselor.core.audit import AuditEvent
    from counselor.extensions import db
    from counselor.portal import session as portal_session

    app = bench_app(database_url, Path(folder), COUNSELOR_ENCRYPTION_KEYS=data["key"])
    pool = data["pool"]
    if "encryption" in names:  # as bench/load.py gives the ablated server its partners
        ablate.plain_answers(app, [pool[2]["path"].split("/")[3]])
    counts = {"aes": 0, "login_session_statements": 0, "sid_hashes": 0, "csrf_hmacs": 0}

    class CountingAead:
        """An AES-GCM key that counts its calls."""

        def __init__(self, aead):
            self.aead = aead

        def encrypt(self, *args):
            counts["aes"] += 1
            return self.aead.encrypt(*args)

        def decrypt(self, *args):
            counts["aes"] += 1
            return self.aead.decrypt(*args)

    ring = app.extensions["counselor_keyring"]
    ring._keys = [crypto._Key(k.key_id, CountingAead(k.aead)) for k in ring._keys]
    ring._by_id = {k.key_id: k for k in ring._keys}

    @event.listens_for(Engine, "before_cursor_execute")
    def _count(conn, cursor, statement, parameters, context, executemany):
        if "login_session" in statement:
            counts["login_session_statements"] += 1

    real_hash, real_digest = portal_session.token_hash, hmac.digest

    def token_hash(value):
        counts["sid_hashes"] += 1
        return real_hash(value)

    def digest(key, msg, name):
        if msg.startswith(b"portal-csrf|"):
            counts["csrf_hmacs"] += 1
        return real_digest(key, msg, name)

    portal_session.token_hash = token_hash
    hmac.digest = digest

    def audit_rows() -> int:
        with app.app_context():
            found = db.session.scalar(select(func.count()).select_from(AuditEvent))
            db.session.remove()
            return found

    counselor = signed_in_client(app, data["counselors"]["large"])
    partner, csrf, opened_at = opened_link(app, data["autosave_tokens"][0])
    revision = [opened_at]
    submitter = app.test_client()

    def caseload():
        r = counselor.get("/cases")
        rows = len(re.findall(r'href="/cases/[0-9a-f-]{36}"', r.get_data(as_text=True)))
        return r.status_code, {"rows": rows, "labels": "Case " in r.get_data(as_text=True)}

    def autosave(n):
        answers = {**thirty_answers(), "t0": f"changed {n}"}
        r = partner.post(
            "/p/autosave",
            json={"revision": revision[0], "answers": answers},
            headers={"X-CSRF-Token": csrf},
        )
        body = r.get_json()
        revision[0] = body.get("revision", revision[0])
        return r.status_code, sorted(body)

    def submit_one(p):
        cookie = p["cookie"].split("=", 1)
        submitter.set_cookie(cookie[0], cookie[1], path="/p")
        r = submitter.post(p["path"], data={"csrf_token": p["csrf"], "revision": p["revision"]})
        return r.status_code, re.sub(r"[0-9a-f-]{36}", "ID", r.headers.get("Location", ""))

    # warm-up: each page once (the memos of the switches fill here)
    caseload(), autosave(0), submit_one(pool[0])
    before = {**counts, "audit": audit_rows()}
    out = {"caseload": caseload(), "autosave": [autosave(1), autosave(2)]}
    middle = {**counts, "audit": audit_rows()}
    # a submit's session is new (each sends one response): its first request, not a repeat
    out["submit"] = submit_one(pool[2])
    after = {**counts, "audit": audit_rows()}
    out["work"] = {k: middle[k] - before[k] for k in after}
    out["submit_work"] = {k: after[k] - middle[k] for k in after}
    # still refused: no cookie, a forged cookie
    anonymous = app.test_client()
    out["refused"] = {
        "caseload": anonymous.get("/cases").status_code,
        "autosave": anonymous.post(
            "/p/autosave", json={"revision": 0, "answers": {}}, headers={"X-CSRF-Token": csrf}
        ).status_code,
    }
    anonymous.set_cookie(portal_session.COOKIE, "forged", path="/p")
    out["refused"]["forged"] = anonymous.post(
        "/p/autosave", json={"revision": 0, "answers": {}}, headers={"X-CSRF-Token": csrf}
    ).status_code
    with app.app_context():
        if db.engine.dialect.name == "postgresql":  # the suite's schema, left empty
            db.drop_all()
            db.create_all()
        db.engine.dispose()
    return out


if __name__ == "__main__":
    if sys.argv[1] == "--seed":
        print(json.dumps(seeded(*sys.argv[2:4]), default=str))
    else:
        print(json.dumps(main(*sys.argv[1:4])))
