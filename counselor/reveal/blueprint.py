"""The reveal blueprint; its views attach to it in `counselor.reveal.routes`."""

from flask import Blueprint

bp = Blueprint("reveal", __name__)
