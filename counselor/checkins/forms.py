"""The counselor's schedule form and the one-click buttons of a schedule."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectChoice, SelectField
from wtforms.validators import DataRequired, InputRequired, NumberRange, Optional

from counselor.checkins.cadence import MAX_TIMES
from counselor.core.forms import MultiCheckboxField


class ScheduleForm(FlaskForm):
    """Which questionnaire, for whom, how often, from when, until when."""

    questionnaire = SelectField(
        "Questionnaire", validators=[DataRequired("Choose a questionnaire.")]
    )
    partners = MultiCheckboxField(
        "For",
        validators=[DataRequired("Choose at least one partner.")],
    )
    every = IntegerField(
        "Every",
        validators=[
            InputRequired("Say how often, as a number."),
            NumberRange(1, 90, "Every 1 to 90 days, or 1 to 26 weeks."),
        ],
    )
    unit = SelectField("", choices=[SelectChoice("weeks", "weeks"), SelectChoice("days", "days")])
    starts_on = DateField(
        "First check-in on", validators=[InputRequired("Choose the day of the first check-in.")]
    )
    ends_on = DateField(
        "Last possible day",
        validators=[Optional()],
        description="Optional. No check-in after this day.",
    )
    times = IntegerField(
        "How many times",
        validators=[
            Optional(),
            NumberRange(1, MAX_TIMES, f"A schedule runs 1 to {MAX_TIMES} times."),
        ],
        description="Optional. Leave both empty to run until you end it.",
    )


class ButtonForm(FlaskForm):
    """Pause, resume or end: only the CSRF token (the button names the change)."""
