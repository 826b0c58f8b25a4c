"""Questionnaires and exercises: the library, versions, assignment to cases, links."""

from flask import Blueprint

bp = Blueprint("questionnaires", __name__)

from counselor.questionnaires import routes  # noqa: E402,F401
