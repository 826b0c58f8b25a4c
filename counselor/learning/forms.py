"""The counselor's resource form and the attach form of an assignment."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from counselor.core.forms import MultiCheckboxField
from counselor.learning.services import MAX_NOTE, MAX_SOURCE, MAX_TITLE, MAX_URL, ResourceInput


class ResourceForm(FlaskForm):
    """A book, article, course or workshop."""

    title = StringField(
        "Title", validators=[DataRequired("Give the resource a title."), Length(max=MAX_TITLE)]
    )
    source = StringField(
        "Author or source",
        validators=[DataRequired("Name the author or source."), Length(max=MAX_SOURCE)],
        description="The author or authors, or who offers it (a publisher, a course, a clinic).",
    )
    url = StringField(
        "Web address (optional)",
        validators=[Length(max=MAX_URL)],
        description="Partners see it as a plain link; nothing from it is loaded on their page.",
    )
    note = TextAreaField(
        "Note for partners (optional)",
        validators=[Length(max=MAX_NOTE)],
        description="Partners read this under the title: what it is about, why it may help.",
    )
    shared = BooleanField("Share with the practice (other counselors may attach it, not change it)")

    def typed(self) -> ResourceInput:
        """What was typed, for the service to check."""
        return ResourceInput(
            self.title.data or "",
            self.source.data or "",
            self.url.data or "",
            self.note.data or "",
            bool(self.shared.data),
        )


class AttachForm(FlaskForm):
    """Which resources go with a homework."""

    resources = MultiCheckboxField(
        "Resources",
        validate_choice=False,  # the service checks the ids against the counselor's library
    )
