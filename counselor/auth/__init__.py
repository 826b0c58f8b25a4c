"""Counselor accounts: login, logout, password change, server-side login sessions."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from counselor.auth import routes  # noqa: E402,F401
