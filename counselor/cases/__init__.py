"""Caseload: cases, their partners, and counseling sessions with private notes."""

from flask import Blueprint

bp = Blueprint("cases", __name__)

from counselor.cases import routes  # noqa: E402,F401
