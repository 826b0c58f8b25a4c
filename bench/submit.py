"""Portal submit under load: partners whose answers to the thirty-item exercise are complete
and not sent yet, each sent once.

A submit changes state for good (the response is sent, the counselor is told, the alert rules
run), so a bench cannot send one response again and again: the second time is a cheap refusal.
``seed_pool`` therefore makes as many partners as the runs may send, in couples, through the
app's own services: a case of two partners, the thirty-item exercise assigned with a link
each, every answer saved as a draft, and a portal session opened with the link as its
landing page's button opens one (``portal_session.start``, the link marked used; the two
requests of the landing are left out, they cost more than the rest of the seeding). Each wrk
thread (one connection each) walks its own slice of the pool, POSTs
``/p/a/<assignment>/submit`` once per partner with the session's CSRF token and revision, and
stops when its slice is used up; ``ran_out`` says if one did (wrk then divides by the whole
duration, so the rate shown is a floor).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
from pathlib import Path

#: submits per second the pool is sized for: above the most a submit has reached under wrk
#: (1,638/s on SQLite on a fast quiet machine, 2026-12-01, after the tenth round; the ablated
#: server's 1,962/s ran a pool of 2,000/s out); a floor of the rate is printed if a faster
#: machine runs the pool out (--submit-rate raises it; seeding cost about 4 ms a partner on
#: SQLite and 12 ms on PostgreSQL over two processes on that machine)
RATE = 2200
#: with --quick (1 round of 2 s): rough figures, the seeding kept to seconds (a floor is
#: printed when the pool runs out)
QUICK_RATE = 1000

#: wrk's script: the pool's slice of each thread is a file of one partner per line
#: (path, cookie, CSRF token, revision, tab-separated), read at the thread's start
LUA = """
local files = %s
local counter = 0
threads = {}
function setup(thread)
  counter = counter + 1
  thread:set("file", files[counter])
  table.insert(threads, thread)
end
function init(args)
  pool = {}
  for line in io.lines(file) do
    local path, cookie, csrf, revision = line:match("^([^\\t]*)\\t([^\\t]*)\\t([^\\t]*)\\t(%%d+)$")
    pool[#pool + 1] = wrk.format("POST", path, {
      ["Content-Type"] = "application/x-www-form-urlencoded", ["Cookie"] = cookie},
      "csrf_token=" .. csrf .. "&revision=" .. revision)
  end
  size = #pool
  sent = 0  -- wrk calls request() once before the run to check it: that partner is skipped
end
function request()
  sent = sent + 1
  return pool[sent]
end
function response(status, headers, body)
  if sent >= size then
    wrk.thread:stop()  -- from response(): no request past the slice is written
  end
end
function done(summary, latency, requests)
  local out = 0
  for _, thread in ipairs(threads) do
    if thread:get("sent") >= thread:get("size") then out = out + 1 end
  end
  io.write(string.format("submit pool: %%d of %%d threads ran out\\n", out, #threads))
end
"""


def scripts(
    pool: list[dict], rounds: int, threads: int, tmp: Path, name: str = "submit"
) -> list[str]:
    """wrk's script for each round: the round's share of the pool, one file per thread (a
    couple's two partners in the same file, so no two connections wait on one assignment),
    the files named after ``name``."""
    per_round = len(pool) // rounds if rounds else 0
    per_thread = per_round // threads // 2 * 2
    out = []
    for r in range(rounds):
        files = []
        for t in range(threads):
            start = r * per_round + t * per_thread
            path = tmp / f"{name}-{r}-{t}.tsv"
            path.write_text(
                "".join(
                    f"{p['path']}\t{p['cookie']}\t{p['csrf']}\t{p['revision']}\n"
                    for p in pool[start : start + per_thread]
                )
            )
            files.append(str(path))
        out.append(LUA % ("{" + ", ".join(json.dumps(f) for f in files) + "}"))
    return out


def ran_out(output: str) -> int:
    """1 if a thread of this wrk run used up its slice of the pool before the run ended."""
    found = re.search(r"submit pool: (\d+) of \d+ threads ran out", output)
    return int(bool(found and int(found.group(1))))


def pool_size(seconds: float, rounds: int, rate: int = RATE) -> int:
    """Partners to seed: ``rate`` submits a second for every second of every round (even)."""
    return int(seconds * rate / 2) * 2 * rounds


#: partners seeded between two commits (and two emptyings of the ORM session)
CHUNK = 200


def seed_pool(app, owner_email: str, version_id, count: int) -> list[dict]:
    """``count`` partners (in couples) with complete unsent answers to ``version_id`` and an
    open portal session each: [{path, cookie, csrf, revision}], in case order.

    On PostgreSQL the couples are seeded by one forked process per core, each on its own
    connections (the seeding is the app's Python work; with rows of their own the processes
    do not wait on each other). SQLite has one writer at a time: one process."""
    cores = os.cpu_count() or 1
    if cores == 1 or count < 2 * CHUNK or app.config["SQLALCHEMY_DATABASE_URI"][:6] == "sqlite":
        return _seed_couples(app, owner_email, version_id, 0, count)
    global _FORKED  # the forked processes inherit the app; a Pool pickles only the ranges
    _FORKED = (app, owner_email, version_id)
    share = -(-count // (2 * cores)) * 2  # couples whole, in case order
    ranges = [(start, min(start + share, count)) for start in range(0, count, share)]
    with multiprocessing.get_context("fork").Pool(len(ranges), _forget_connections) as pool:
        parts = pool.starmap(_seed_range, ranges)
    return [partner for part in parts for partner in part]


_FORKED: tuple = ()


def _forget_connections() -> None:
    """In a forked process: the parent's pooled connections are left to the parent."""
    from counselor.extensions import db

    with _FORKED[0].app_context():
        db.engine.dispose(close=False)


def _seed_range(start: int, stop: int) -> list[dict]:
    app, owner_email, version_id = _FORKED
    return _seed_couples(app, owner_email, version_id, start, stop)


def _seed_couples(app, owner_email: str, version_id, start: int, stop: int) -> list[dict]:
    """``seed_pool``'s partners ``start`` to ``stop`` (even numbers), in one process."""
    from sqlalchemy import select

    from bench.seed import NAMES, thirty_answers
    from counselor.auth.models import Counselor
    from counselor.cases import homes
    from counselor.cases.services import create_case
    from counselor.extensions import db
    from counselor.portal import context as portal_context
    from counselor.portal import services as portal
    from counselor.questionnaires.models import QuestionnaireVersion
    from counselor.questionnaires.services import assign

    pool = []
    with app.app_context():
        for first in range(start, stop, CHUNK):
            # a chunk at a time, the session emptied after each: the identity map would
            # otherwise grow with the pool, and the link's bulk UPDATE that opens a portal
            # session walks all of it (seeding slowed from 15 to 25 ms a partner by 3,000)
            owner = db.session.scalar(select(Counselor).where(Counselor.email == owner_email))
            version = db.session.get(QuestionnaireVersion, version_id)
            opened = []
            for n in range(first, min(first + CHUNK, stop), 2):
                names = [{"display_name": NAMES[(n + k) % 6]} for k in range(2)]
                case = create_case(owner, f"Submit {n:05d}", names)
                assignment, issued = assign(
                    case, version, [], due_on=None, instructions=None, ttl_days=30, links=True
                )
                for partner, link in zip(case.partners, issued, strict=True):
                    ctx = portal_context.assignment_context(
                        portal_context.PortalContext(partner, homes.home_of(partner)),
                        assignment.id,
                    )
                    revision, errors = portal.save(ctx, thirty_answers(n), ctx.response.revision)
                    assert not errors, errors
                    opened.append((assignment.id, link, revision))
            db.session.commit()
            pool += [
                {"path": f"/p/a/{assignment_id}/submit", **_session(app, link), "revision": rev}
                for assignment_id, link, rev in opened
            ]
            db.session.commit()
            db.session.expunge_all()
    return pool


def age_sessions(seconds: int) -> None:
    """Move every portal session's start and last sight ``seconds`` back (in the app's
    context), as if the pool had been seeded that long ago: bench/load.py's pool is minutes
    old when its submit measure runs, so each of its submits finds a session not seen for
    more than a minute."""
    from datetime import timedelta

    from sqlalchemy import update

    from counselor.core.models import utcnow
    from counselor.extensions import db
    from counselor.portal.models import PortalSessionRecord as Record

    then = utcnow() - timedelta(seconds=seconds)
    db.session.execute(update(Record).values(created_at=then, last_seen_at=then))
    db.session.commit()


def _session(app, issued) -> dict:
    """A portal session opened by a per-assignment link, as its landing page's button opens
    one (``portal_session.start``, the link marked used), without the two requests: the
    portal cookie and the session's CSRF token."""
    from flask import Response

    from counselor.portal import context as portal_context
    from counselor.portal import session as portal_session

    link = issued.link
    with app.test_request_context():
        response = Response()
        portal_context.open_link(link)
        ps = portal_session.start(
            response, link.partner_id, link_id=link.id, focus_assignment_id=link.assignment_id
        )
        cookie = response.headers["Set-Cookie"].split(";", 1)[0]
    return {"cookie": cookie, "csrf": ps.csrf_token}
