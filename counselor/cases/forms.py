"""Case, partner and counseling-session forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    EmailField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from counselor.cases.models import MAX_PARTNERS
from counselor.core.forms import no_nul

NOTE_MAX = 50_000


class PartnerForm(Form):
    """One partner slot of the case form (a blank name leaves the slot empty)."""

    partner_id = HiddenField()
    display_name = StringField("Name", validators=[Optional(), Length(max=120), no_nul])
    pronouns = StringField("Pronouns", validators=[Optional(), Length(max=40), no_nul])
    email = EmailField("Email (optional)", validators=[Optional(), Email(), Length(max=254)])


class CaseForm(FlaskForm):
    """A case's label and its 1–6 partners."""

    label = StringField(
        "Case label",
        validators=[DataRequired(), Length(max=200), no_nul],
        description="How you recognise this case, for example “Sam & Alex”. Only you see it.",
    )
    partners = FieldList(FormField(PartnerForm), min_entries=MAX_PARTNERS, max_entries=MAX_PARTNERS)
    submit = SubmitField("Save case")

    def validate_partners(self, field) -> None:
        """At least one partner with a name."""
        if not any((p.display_name.data or "").strip() for p in field.entries):
            raise ValidationError("Name at least one partner.")
        for entry in field.entries:
            if (entry.email.data or entry.pronouns.data) and not (
                entry.display_name.data or ""
            ).strip():
                entry.display_name.errors = [
                    *entry.display_name.errors,
                    "Give this partner a name.",
                ]
                raise ValidationError("Every partner with details needs a name.")

    def partner_rows(self) -> list[dict]:
        """The filled partner slots, in order, as plain dicts for the service."""
        rows = []
        for entry in self.partners.entries:
            name = (entry.display_name.data or "").strip()
            if name:
                rows.append(
                    {
                        "id": entry.partner_id.data or None,
                        "display_name": name,
                        "pronouns": (entry.pronouns.data or "").strip() or None,
                        "email": (entry.email.data or "").strip() or None,
                    }
                )
        return rows


def _plausible_date(form, field) -> None:
    """A session date within 1900-2100: year 1 or 9999 moved into or out of the practice's
    time zone overflows Python's datetime (a 500 instead of a message)."""
    if field.data and not 1900 <= field.data.year <= 2100:
        raise ValidationError("Enter a date between 1900 and 2100.")


class SessionForm(FlaskForm):
    """One counseling session."""

    date = DateField(
        "Date",
        validators=[DataRequired(message="Enter the date of the session."), _plausible_date],
    )
    time = TimeField("Start time", validators=[DataRequired(message="Enter the start time.")])
    duration_minutes = IntegerField(
        "Duration (minutes)",
        default=50,
        # InputRequired, not DataRequired: a typed 0 is data, and deserves the range message
        # rather than "This field is required."
        validators=[
            InputRequired(message="Enter the length in minutes."),
            NumberRange(min=5, max=600, message="Between 5 and 600 minutes."),
        ],
    )
    agenda = TextAreaField("Agenda", validators=[Optional(), Length(max=NOTE_MAX), no_nul])
    notes = TextAreaField(
        "Private notes",
        validators=[Optional(), Length(max=NOTE_MAX), no_nul],
        description="Only you see these. They never appear in anything a partner receives.",
    )
    next_steps = TextAreaField("Next steps", validators=[Optional(), Length(max=NOTE_MAX), no_nul])
    submit = SubmitField("Save session")


class ConfirmDeleteForm(FlaskForm):
    """Deleting a case asks for its label typed out."""

    confirm_label = StringField("Type the case label to confirm", validators=[DataRequired()])
    submit = SubmitField("Delete this case and everything in it")


class RelationshipMapForm(FlaskForm):
    """The relationship map: one checkbox per pair of partners, read by the route from the pairs
    the case has (so a posted name that is not a pair of this case is ignored)."""

    submit = SubmitField("Save the relationship map")
