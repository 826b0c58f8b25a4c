"""Celery entry of the worker tests' slow worker: the test workers' app (``celery_app``), with
a render that first holds its claim for TEST_RENDER_DELAY_SECONDS, so that a test can kill the
worker mid-render.

Loaded only by ``celery -A tests.support.slow_render_app:celery_app`` (see ``workers``):
production code carries no fault hook. The delay sits after the claim, not in a
``task_prerun`` signal, because the test needs the export claimed (status "rendering", its
lease held) when the worker dies.
"""

from __future__ import annotations

import os
import time

from counselor.reports import builders
from tests.support.celery_app import app, celery_app  # noqa: F401 - the test workers' apps

DELAY_SECONDS = float(os.environ["TEST_RENDER_DELAY_SECONDS"])
_render = builders.render


def _slow_render(export):
    """Hold the claim, then render as production does."""
    time.sleep(DELAY_SECONDS)
    return _render(export)


# the task looks builders.render up at each call, so this reaches every render of this process
builders.render = _slow_render
