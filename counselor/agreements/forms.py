"""Counselor forms of agreements (the clause list is parsed by ``parse_clauses``: its rows
come and go with the draft)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, StringField
from wtforms.validators import DataRequired, Length, Optional

from counselor.agreements import clauses as cl
from counselor.core.forms import MultiCheckboxField


class NewAgreementForm(FlaskForm):
    """Open an agreement: its title and the partners it is between."""

    title = StringField(
        "Title the partners will see",
        validators=[DataRequired("Give the agreement a title."), Length(max=200)],
        description="For example “Our agreement” or “How we play”. Never the case label.",
    )
    partners = MultiCheckboxField(
        "Between",
        validators=[DataRequired("Choose the partners this agreement is between.")],
    )


class DraftForm(FlaskForm):
    """The draft's title and review date (its clauses come from ``parse_clauses``)."""

    title = StringField(
        "Title the partners will see",
        validators=[DataRequired("Give the agreement a title."), Length(max=200)],
    )
    review_on = DateField(
        "Review on",
        validators=[Optional()],
        description="When you and the partners look at it again (8 weeks unless you choose).",
    )


class PlainForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


def parse_clauses(form) -> list[dict]:
    """The draft's clause rows from the posted form (``c-<n>-<field>``), in order."""
    rows: dict[int, dict] = {}
    for name, value in form.items():
        parts = name.split("-", 2)
        if len(parts) != 3 or parts[0] != "c" or not parts[1].isdigit() or len(parts[1]) > 3:
            continue
        row = rows.setdefault(int(parts[1]), {"signal": {}})
        field = parts[2]
        if field.startswith("signal_") and field[7:] in cl.SIGNAL:
            row["signal"][field[7:]] = value
        elif field in ("key", "kind", "text", "leads", "follows", *cl.CONDITIONS):
            row[field] = value
    return [rows[n] for n in sorted(rows)]
