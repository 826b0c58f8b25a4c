"""The steps blueprint (its views are attached by ``routes``)."""

from flask import Blueprint

bp = Blueprint("steps", __name__)
