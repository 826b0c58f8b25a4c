"""PDF session summaries: requested here, rendered by Celery workers, stored encrypted."""

from flask import Blueprint

bp = Blueprint("reports", __name__)

from counselor.reports import routes  # noqa: E402,F401
