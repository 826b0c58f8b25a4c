"""Account management forms."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from counselor.auth.services import MIN_PASSWORD_LENGTH


class NewCounselorForm(FlaskForm):
    """A new account with an initial password the admin hands over in person."""

    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(
        "Initial password",
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=1024)],
        description=f"At least {MIN_PASSWORD_LENGTH} characters; ask them to change it.",
    )
    confirm = PasswordField(
        "Initial password again",
        validators=[DataRequired(), EqualTo("password", message="The two passwords differ.")],
    )
    admin = BooleanField("Practice admin (manages accounts, sees no cases)")
    submit = SubmitField("Create account")
