"""Celery entry of the test workers and beats: the Procfile's app (``wsgi:celery_app``), with
the queue of this pytest-xdist worker (``COUNSELOR_TEST_CELERY_QUEUE``) as its default queue,
so that the processes started for one xdist worker never take another's tasks.

Loaded only by ``celery -A tests.support.celery_app:celery_app`` (see ``workers``).
"""

from __future__ import annotations

import os

from wsgi import app, celery_app  # noqa: F401 - the worker's app and Celery app

celery_app.conf.task_default_queue = os.environ["COUNSELOR_TEST_CELERY_QUEUE"]
