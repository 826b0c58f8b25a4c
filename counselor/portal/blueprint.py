"""The portal blueprint; its views attach to it in `counselor.portal.routes` and
`counselor.portal.homework_routes`, its hooks in `counselor.portal.access`."""

from flask import Blueprint

bp = Blueprint("portal", __name__)
