"""The auth blueprint; its views attach to it in `counselor.auth.routes`."""

from flask import Blueprint

bp = Blueprint("auth", __name__)
