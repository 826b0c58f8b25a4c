"""Account management forms."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, Length

from counselor.auth.forms import again_field, new_password_field


class NewCounselorForm(FlaskForm):
    """A new account with an initial password the admin hands over in person."""

    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    password = new_password_field("Initial password", "; ask them to change it")
    confirm = again_field("Initial password again", "password", "The two passwords differ.")
    admin = BooleanField("Practice admin (manages accounts, sees no cases)")
    submit = SubmitField("Create account")
