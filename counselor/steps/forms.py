"""The counselor's step form (partners' forms are plain, checked by the portal's CSRF)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class StepForm(FlaskForm):
    """One step: where it belongs, what, how small, conditions, a planned date, the debrief."""

    place = SelectField("Where it belongs")
    what = StringField(
        "The step",
        validators=[DataRequired("Say what the step is."), Length(max=1000)],
        description="One small, reversible experiment, in words the partners use.",
    )
    size = StringField(
        "How small",
        validators=[Length(max=1000)],
        description="For example “ten minutes, clothes on”.",
    )
    conditions = TextAreaField(
        "Conditions", validators=[Length(max=1000)], description="Anything that must be true."
    )
    planned_on = DateField("Planned for", validators=[Optional()])
    debrief = SelectField("Debrief with", validators=[Optional()])


class PlainForm(FlaskForm):
    """A button's form: only the CSRF token."""
