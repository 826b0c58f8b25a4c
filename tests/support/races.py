"""Real concurrent requests for the race tests: actions started together from threads."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable


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
