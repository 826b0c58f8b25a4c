"""Assignment, import and link forms (the questionnaires themselves render from their data)."""

from __future__ import annotations

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, IntegerField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from counselor.core.forms import MultiCheckboxField, no_nul
from counselor.questionnaires.parsing import MAX_DEFINITION_CHARS


def at_least_one(message: str):
    """Like DataRequired for a checkbox list, without marking every box as required in HTML."""

    def check(form, field) -> None:
        if not field.data:
            raise ValidationError(message)

    return check


class _AssignFields(FlaskForm):
    due_on = DateField(
        "Due date",
        validators=[Optional()],
        description="Partners can change their answers until the end of this day.",
    )
    instructions = TextAreaField(
        "Note to the partners",
        validators=[Optional(), Length(max=4000), no_nul],
        description="Shown at the top of the questionnaire, for example why you chose it.",
    )
    ttl_days = IntegerField(
        "Links work for (days)",
        validators=[
            DataRequired(message="Enter a number of days."),
            NumberRange(min=1, max=365, message="Between 1 and 365 days."),
        ],
    )
    #: a fresh key per rendered form: sending the same form twice creates nothing twice
    request_key = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.ttl_days.data is None:
            self.ttl_days.data = current_app.config["COUNSELOR_LINK_TTL_DAYS"]


class CaseAssignForm(_AssignFields):
    """Assign one questionnaire to partners of this case."""

    questionnaire = SelectField(
        "Questionnaire or exercise", validators=[DataRequired(message="Choose a questionnaire.")]
    )
    partners = MultiCheckboxField(
        "Partners", validators=[at_least_one("Choose at least one partner.")]
    )


class LibraryAssignForm(_AssignFields):
    """Assign one questionnaire to all partners of several cases."""

    cases = MultiCheckboxField("Cases", validators=[at_least_one("Choose at least one case.")])


class ImportForm(FlaskForm):
    """A questionnaire definition pasted as JSON."""

    definition = TextAreaField(
        "Definition (JSON)",
        validators=[
            DataRequired(message="Paste a definition."),
            Length(max=MAX_DEFINITION_CHARS),
            no_nul,
        ],
        description=(
            "The format of the built-in library; importing the same slug again makes a new version."
        ),
    )


class DueForm(FlaskForm):
    """A new due date."""

    due_on = DateField("New due date", validators=[Optional()])
