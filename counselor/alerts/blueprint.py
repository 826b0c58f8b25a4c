"""The alerts blueprint; its views attach to it in `counselor.alerts.routes`."""

from flask import Blueprint

bp = Blueprint("alerts", __name__)
