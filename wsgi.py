"""Entry point for gunicorn (`wsgi:app`), Celery (`wsgi:celery_app`) and the `flask` command."""

import gc

from counselor import create_app

app = create_app()
celery_app = app.extensions["celery"]
# What start-up made (modules, mappers, the app) lives as long as the process: moved out of
# the collector's reach, each full collection walks only what requests make, which took the
# mean time of the six-partner comparison from about 42 to 28 ms (bench/compare.py).
gc.collect()
gc.freeze()
