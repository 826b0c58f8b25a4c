"""Form pieces shared by every feature."""

from wtforms.validators import ValidationError


def no_nul(form, field) -> None:
    """NUL bytes are refused with a message rather than stored or crashing a driver."""
    if field.data and "\x00" in field.data:
        raise ValidationError("This text contains a NUL character; remove it and try again.")
