"""The questionnaires blueprint; its views attach to it in `counselor.questionnaires.routes`."""

from flask import Blueprint

bp = Blueprint("questionnaires", __name__)
