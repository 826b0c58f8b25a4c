"""The admin's consent text form (the partner's acknowledgement is a plain portal form)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from counselor.consent.services import MAX_TEXT


class ConsentTextForm(FlaskForm):
    """The practice's consent text: saving a changed text makes a new version."""

    text = TextAreaField(
        "Consent text partners read before the intake",
        validators=[DataRequired("The consent text cannot be empty."), Length(max=MAX_TEXT)],
        description=(
            "Plain text; a blank line starts a new paragraph. Saving a changed text makes a new "
            "version: every partner is asked to read and acknowledge it again."
        ),
    )
    submit = SubmitField("Save as a new version")
