"""Comparing partners' answers, releasing what partners may see, and safety alerts."""

from flask import Blueprint

bp = Blueprint("reveal", __name__)

from counselor.reveal import routes  # noqa: E402,F401
