"""The reports blueprint; its views attach to it in `counselor.reports.routes`."""

from flask import Blueprint

bp = Blueprint("reports", __name__)
