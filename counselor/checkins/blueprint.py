"""The check-ins blueprint (its views are attached by ``routes``)."""

from flask import Blueprint

bp = Blueprint("checkins", __name__)
