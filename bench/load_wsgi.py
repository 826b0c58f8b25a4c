"""The project as bench/load.py serves it: the real app, with a scratch instance folder, its
start-up objects frozen as wsgi.py freezes them."""

import gc
import os

from counselor import create_app

app = create_app({"INSTANCE_PATH": os.environ["BENCH_INSTANCE"]})
gc.collect()
gc.freeze()
