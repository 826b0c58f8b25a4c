"""The portal blueprint; its views attach to it in `counselor.portal.routes`."""

from flask import Blueprint

bp = Blueprint("portal", __name__)
