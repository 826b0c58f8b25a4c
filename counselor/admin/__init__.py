"""Practice administration: counselor accounts. Admins see no clinical data."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from counselor.admin import routes  # noqa: E402,F401
