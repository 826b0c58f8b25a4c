"""Release and alert forms."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, TextAreaField
from wtforms.validators import DataRequired, Length

from counselor.core.forms import no_nul


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


class AcknowledgeForm(FlaskForm):
    """Closing an alert needs a note of what was done."""

    note = TextAreaField(
        "What you did or decided",
        validators=[
            DataRequired(message="Write a short note before closing the alert."),
            Length(max=4000),
            no_nul,
        ],
    )
