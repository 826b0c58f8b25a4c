"""Export request form."""

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, SelectField
from wtforms.validators import DataRequired, Optional


class SessionExportForm(FlaskForm):
    """Which PDF of a session: the clinical record, or a handout for one partner."""

    kind = RadioField(
        "What to export",
        choices=[
            SelectChoice(
                "clinical",
                "Clinical record: session details, private notes, homework answers side by side, "
                "comparison and charts",
            ),
            SelectChoice(
                "handout", "Client handout: next steps and only what this partner may see"
            ),
        ],
        default="clinical",
        validators=[DataRequired(message="Choose what to export.")],
    )
    partner = SelectField("Handout for", validators=[Optional()])


def session_export_form(case) -> SessionExportForm:
    """The export form of a session page, with the case's partners to choose from."""
    form = SessionExportForm()
    form.partner.choices = [SelectChoice(str(p.id), p.display_name) for p in case.partners]
    return form
