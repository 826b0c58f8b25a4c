"""The notification settings form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectChoice
from wtforms.validators import InputRequired


class NotificationsForm(FlaskForm):
    """Which mails a counselor gets, and how."""

    submitted = BooleanField("A partner submitted homework")
    alert = BooleanField(
        "Something needs my attention: a screening alert, a partner pressed pause, "
        "an agreement is due for review"
    )
    undeliverable = BooleanField("A mail for one of my cases could not be delivered")
    delivery = RadioField(
        "How",
        choices=[
            SelectChoice("each", "One mail per event"),
            SelectChoice("digest", "One summary a day"),
        ],
        validators=[InputRequired("Choose one mail per event or one summary a day.")],
    )
