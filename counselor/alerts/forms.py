"""Closing an alert."""

from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from counselor.core.forms import no_nul


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
