"""Form pieces shared by every feature."""

from wtforms import SelectMultipleField, widgets
from wtforms.validators import ValidationError


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes: accepts only the values offered (injected ids are refused)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def no_nul(form, field) -> None:
    """NUL bytes are refused with a message rather than stored or crashing a driver."""
    if field.data and "\x00" in field.data:
        raise ValidationError("This text contains a NUL character; remove it and try again.")
