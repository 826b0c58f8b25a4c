"""The cases blueprint; its views attach to it in `counselor.cases.routes`."""

from flask import Blueprint

bp = Blueprint("cases", __name__)
