"""Real concurrent requests for the race tests: actions started together from threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Iterable

from sqlalchemy import text

#: a backend of the test database waiting for a row lock (PostgreSQL)
_LOCK_WAITS = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND wait_event_type = 'Lock'"
)


def at_once(*actions) -> list:
    """Run each action (a callable making one request) in its own thread, all released at
    the same instant by a barrier; their results, in order."""
    barrier = threading.Barrier(len(actions))
    got: list = [None] * len(actions)

    def run(n, action):
        barrier.wait()
        got[n] = action()

    threads = [threading.Thread(target=run, args=(n, a)) for n, a in enumerate(actions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return got


def in_app_contexts(app, *actions) -> list:
    """Each action in a thread of its own app context (hence its own database session and
    connection, as two worker processes have), all released together by a barrier; their
    results, in order. An action's exception fails the caller's test."""
    from counselor.extensions import db

    barrier = threading.Barrier(len(actions))
    got: list = [None] * len(actions)
    failed: list = []

    def run(n, action):
        try:
            with app.app_context():
                barrier.wait()
                got[n] = action()
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported below
            failed.append(exc)

    threads = [threading.Thread(target=run, args=(n, a)) for n, a in enumerate(actions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not failed, failed
    return got


def after(lead_in: Callable[[], object], times: int, action: Callable[[], object]) -> Callable:
    """The action, sent after ``times`` requests of ``lead_in``: a head start for the other
    side made of real requests (a page a user would load first), not of sleeps."""

    def run():
        for _ in range(times):
            lead_in()
        return action()

    return run


def until_both_orders(
    attempt: Callable[[int, int], Hashable],
    first: Hashable,
    second: Hashable,
    *,
    tries: int | Iterable[tuple[int, int]],
    bound: int = 150,
) -> set:
    """Run one race ``tries`` times as ``attempt(0, 0)`` (or once per pair of lead-ins that
    ``tries`` lists); then, while either outcome has not been seen yet (at most ``bound`` more
    tries), hold back the side that keeps winning by a growing number of lead-in requests:
    ``attempt(delay_of_side_0, delay_of_side_1)``.

    ``first`` is the outcome when side 0 wins, ``second`` when side 1 wins. On a loaded machine
    one side's path to the lock can be shorter every time; the race is still tried from both
    sides this way, and every try's invariants are checked by ``attempt`` itself."""
    schedule = [(0, 0)] * tries if isinstance(tries, int) else tries
    seen = {attempt(*held) for held in schedule}
    for n in range(bound):
        if first in seen and second in seen:
            break
        held = 1 + n // 10
        seen.add(attempt(held, 0) if first in seen else attempt(0, held))
    return seen


def wait_for_a_lock_wait(engine, what: str = "the request", timeout: float = 20.0) -> None:
    """Until a backend of ``engine``'s PostgreSQL database waits for a lock (``what``, sent
    from another thread, behind a transaction the test holds open), at most ``timeout``
    seconds. Each look is a transaction of its own: PostgreSQL keeps one snapshot of
    ``pg_stat_activity`` for a whole transaction, so a wait that began after the first look
    would not be seen in the same one."""
    deadline = time.monotonic() + timeout
    with engine.connect() as conn:
        while True:
            waiting = conn.execute(_LOCK_WAITS).scalar()
            conn.rollback()
            if waiting:
                return
            assert time.monotonic() < deadline, f"{what} never waited for the lock"
            time.sleep(0.01)
