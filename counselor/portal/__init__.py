"""What partners see through their personal link; never Flask-Login or the counselor's session."""

from flask import Blueprint

bp = Blueprint("portal", __name__)

from counselor.portal import routes  # noqa: E402,F401
