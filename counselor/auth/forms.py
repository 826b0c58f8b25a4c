"""Login and password forms."""

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

from counselor.auth.services import MIN_PASSWORD_LENGTH


def new_password_field(label: str, hint: str) -> PasswordField:
    """A password being chosen: the length rule, said under the field."""
    return PasswordField(
        label,
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=1024)],
        description=f"At least {MIN_PASSWORD_LENGTH} characters{hint}.",
    )


def again_field(label: str, of: str, message: str) -> PasswordField:
    """The chosen password typed a second time, which must equal the field ``of``."""
    return PasswordField(label, validators=[DataRequired(), EqualTo(of, message=message)])


class LoginForm(FlaskForm):
    """Email and password."""

    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    submit = SubmitField("Sign in")


class PasswordChangeForm(FlaskForm):
    """Current password and a new one typed twice."""

    current = PasswordField("Current password", validators=[DataRequired(), Length(max=1024)])
    new = new_password_field("New password", "")
    confirm = again_field("New password again", "new", "The two new passwords differ.")
    submit = SubmitField("Change password")


def _code_field(label: str = "6-digit code") -> StringField:
    return StringField(
        label,
        validators=[
            DataRequired(),
            Length(max=16),
            Regexp(r"^\s*\d{3}\s?\d{3}\s*$", message="Enter the 6 digits your app shows."),
        ],
        description="From your authenticator app.",
    )


class TotpCodeForm(FlaskForm):
    """The second login step, and confirming an enrolment: one current code."""

    code = _code_field()
    submit = SubmitField("Continue")


class TotpDisableForm(FlaskForm):
    """Switching TOTP off: the password and a current code."""

    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    code = _code_field()
    submit = SubmitField("Switch off")
