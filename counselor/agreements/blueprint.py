"""The agreements blueprint (its views are attached by ``routes``)."""

from flask import Blueprint

bp = Blueprint("agreements", __name__)
