"""Releasing an assignment's shared view."""

import functools

from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import BooleanField
from wtforms.validators import DataRequired


class ReleaseForm(FlaskForm):
    """Releasing asks for an explicit confirmation."""

    confirm = BooleanField(
        "I have gone through the results with the partners and want each of them to see "
        "their matches and shared items.",
        validators=[DataRequired(message="Tick the box to confirm the release.")],
    )
    #: the second confirmation, asked for only while screening alerts of the case are open
    confirm_alerts = BooleanField(
        "I have read the open screening alerts named above and still want to release now."
    )


@functools.cache
def release_checkboxes() -> dict[str, Markup]:
    """The release form's two checkboxes, each with its label, as an unsubmitted form renders
    them: the same markup on every page that offers a release, made once per process
    (WTForms builds it anew on each render: a tenth of the comparison overview's work)."""
    form = ReleaseForm(formdata=None, meta={"csrf": False})
    space = Markup(" ")
    return {
        "confirm": space.join(
            (form.confirm(class_="form-check-input"), form.confirm.label(class_="form-check-label"))
        ),
        "confirm_alerts": space.join(
            (
                form.confirm_alerts(class_="form-check-input", required=True),
                form.confirm_alerts.label(class_="form-check-label"),
            )
        ),
    }
