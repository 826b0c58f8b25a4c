"""The mail feature's blueprint: notification settings and the development mailbox."""

from flask import Blueprint

bp = Blueprint("mail", __name__)

from counselor.mail import routes  # noqa: E402,F401
