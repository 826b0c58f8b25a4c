"""Real concurrent requests for the race tests: actions started together from threads."""

from __future__ import annotations

import threading


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
