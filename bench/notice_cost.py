"""The worker's cost of a "homework submitted" notice: CPU per claimed response in a sweep
(counselor.mail.submitted), the work a portal submit no longer does in its request.

    python bench/notice_cost.py                      # SQLite, embedded broker
    REDIS_URL=redis://127.0.0.1:6379/6 python bench/notice_cost.py --pg-url postgresql://...

Seeds a scratch database as bench/submit_cost.py does and sends ``--notices`` real submits
through the portal (each marks its response). Then, ``--rounds`` times: every submitted
response is marked again (committed, not timed) and one sweep tells the counselor of all of
them (timed: ``time.process_time``, so the database server's own CPU is not counted; the
counselor gets one mail per response, composed, sealed and written with its audit event,
and the outbox's drain is asked for once per batch). Prints the median CPU per notice, the
statements per sweep, and the cost of a sweep that finds nothing (what beat's schedule costs
when nobody submitted).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-url", default="", help="a PostgreSQL bench database (emptied)")
    parser.add_argument("--notices", type=int, default=100, help="responses per sweep")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    from sqlalchemy import event, update

    from bench import cpu_split, submit_cost
    from counselor.extensions import db
    from counselor.mail import submitted
    from counselor.questionnaires.models import Response

    tmp = Path(tempfile.mkdtemp(prefix="counselor-notice-"))
    url = args.pg_url or f"sqlite:///{tmp / 'notice.sqlite3'}"
    app, version = submit_cost.seeded_app(url, tmp)
    pool_of = {"counselors": {"submit": "submit@bench.example"}, "submit_version": version}
    send = cpu_split.submit_sender(app, pool_of, args.notices)
    for _ in range(args.notices):
        send()
    statements: list[str] = []
    gc.collect()
    gc.freeze()
    try:
        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
            per_notice, per_sweep = [], []
            for n in range(args.rounds + 1):  # the first round warms up
                db.session.execute(
                    update(Response).where(Response.status == "submitted").values(notice_due=True)
                )
                db.session.commit()
                statements.clear()
                t0 = time.process_time()
                told = submitted.sweep()
                spent = time.process_time() - t0
                assert told == args.notices, told
                if n:
                    per_notice.append(spent * 1000 / told)
                    per_sweep.append(len(statements))
            empty = []
            for _ in range(50):
                t0 = time.process_time()
                submitted.sweep()
                empty.append((time.process_time() - t0) * 1000)
    finally:
        redis_url = app.config.get("REDIS_URL")
        if redis_url:
            import redis

            redis.Redis.from_url(redis_url).flushdb()
    print(f"database: {url.split(':')[0]}")
    print(
        f"sweep of {args.notices}: {statistics.median(per_notice):.3f} ms CPU per notice "
        f"(median of {args.rounds}; min {min(per_notice):.3f}), "
        f"{statistics.median(per_sweep):.0f} statements per sweep"
    )
    print(f"a sweep that finds nothing: {statistics.median(empty):.3f} ms CPU")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
