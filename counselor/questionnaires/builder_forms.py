"""Forms of the questionnaire builder and the FHIR import."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, IntegerField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from counselor.core.forms import no_nul
from counselor.questionnaires.fhir import MAX_FHIR_CHARS
from counselor.questionnaires.parsing import MAX_DEFINITION_CHARS


class BuilderForm(FlaskForm):
    """The edited definition as JSON (the page's script keeps it), and where it started."""

    definition = HiddenField(
        "Definition",
        validators=[
            DataRequired("The page sent no questionnaire; reload it and try again."),
            Length(max=MAX_DEFINITION_CHARS, message="The questionnaire is too long to save."),
        ],
    )
    base = IntegerField("Version this page started from", validators=[Optional()])


class FhirImportForm(FlaskForm):
    """A FHIR R4 Questionnaire, as a file or pasted."""

    file = FileField("FHIR Questionnaire file (.json)")
    text = TextAreaField(
        "…or paste the JSON",
        validators=[
            Optional(),
            no_nul,
            Length(max=MAX_FHIR_CHARS, message=f"At most {MAX_FHIR_CHARS:,} characters."),
        ],
    )
    accept = BooleanField("Import without the parts named above")
