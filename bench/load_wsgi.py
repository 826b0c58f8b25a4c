"""The project as bench/load.py serves it: the real app, with a scratch instance folder, its
start-up objects frozen as wsgi.py freezes them.

``BENCH_PROMISE_OFF=audit`` serves it with the audit trail switched off (``audit.record`` does
nothing), as an experiment only: run next to a normal run, it measures what the audit promise
(a row written and committed with every read of clinical data) costs under load. Nothing but
this bench entry point reads the variable; the app itself has no such switch.
"""

import gc
import os

from counselor import create_app

app = create_app({"INSTANCE_PATH": os.environ["BENCH_INSTANCE"]})
if os.environ.get("BENCH_PROMISE_OFF") == "audit":
    from counselor.core import audit

    audit.record = lambda *args, **kwargs: None
gc.collect()
gc.freeze()
