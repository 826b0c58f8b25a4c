"""The project as bench/load.py serves it: the real app, with a scratch instance folder, its
start-up objects frozen as wsgi.py freezes them.

``BENCH_PROMISE_OFF=audit,encryption,session`` (any of them, comma-separated) serves it with
those promises' work switched off in this process (``bench/ablate.py``), as an experiment
only: served next to the real app (``bench/load.py --promises-off``), it measures what the
promises cost under load. Nothing but this bench entry point reads the variable; the app
itself has no such switch.
"""

import gc
import os

from bench import ablate

# before the app's modules are imported: some build their audited statements at import
ablate.apply(ablate.parse(os.environ.get("BENCH_PROMISE_OFF", "")))

from counselor import create_app  # noqa: E402

app = create_app({"INSTANCE_PATH": os.environ["BENCH_INSTANCE"]})
gc.collect()
gc.freeze()
