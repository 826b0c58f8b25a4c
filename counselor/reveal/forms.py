"""Releasing an assignment's shared view."""

from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms.validators import DataRequired


class ReleaseForm(FlaskForm):
    """Releasing asks for an explicit confirmation."""

    confirm = BooleanField(
        "I have gone through the results with the partners and want each of them to see "
        "their matches and shared items.",
        validators=[DataRequired(message="Tick the box to confirm the release.")],
    )
    #: the second confirmation, asked for only while screening alerts of the case are open
    confirm_alerts = BooleanField(
        "I have read the open screening alerts named above and still want to release now."
    )
