"""The admin blueprint; its views attach to it in `counselor.admin.routes`."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
