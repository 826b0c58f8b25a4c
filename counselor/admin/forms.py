"""Account management forms."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, IntegerField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, ValidationError

from counselor.auth.forms import again_field, new_password_field
from counselor.core.practice import valid_exit_url


class NewCounselorForm(FlaskForm):
    """A new account with an initial password the admin hands over in person."""

    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    password = new_password_field("Initial password", "; ask them to change it")
    confirm = again_field("Initial password again", "password", "The two passwords differ.")
    admin = BooleanField("Practice admin (manages accounts, sees no cases)")
    submit = SubmitField("Create account")


def _number_setting(label: str, low: int, high: int, description: str) -> IntegerField:
    """A whole number from ``low`` to ``high``, or empty for the default the description names."""
    return IntegerField(
        label,
        validators=[Optional(), NumberRange(min=low, max=high)],
        description=description,
    )


class PracticeSettingsForm(FlaskForm):
    """What partners see in a hard moment, set once for the whole practice."""

    safety_text = TextAreaField(
        "Safety resources for partners",
        validators=[Length(max=4000)],
        description=(
            "Shown to a partner after an answer that raises a screening alert (the answer itself "
            "is never repeated). Name crisis lines and how to reach you. Empty: the default text."
        ),
    )
    quick_exit_url = StringField(
        "Quick exit page",
        validators=[Length(max=500)],
        description=(
            "A plain public page the Quick exit button leaves for, such as a weather or news "
            "site. Empty: the server's COUNSELOR_QUICK_EXIT_URL."
        ),
    )
    partner_subject = StringField(
        "Subject of mails to partners",
        validators=[Length(max=150)],
        description=(
            "Neutral: anyone who sees a partner's inbox reads it. Never name a topic. Empty: "
            "\u201cA message from your counselor\u2019s practice\u201d."
        ),
    )
    reminder_days = _number_setting(
        "Reminder before a due date (days)",
        1,
        14,
        "Partners who have not sent their answers get one reminder this many days before. "
        "Empty: 2.",
    )
    quiet_from = _number_setting(
        "Quiet hours from (hour)", 0, 23, "No mail to partners from this hour … Empty: 21."
    )
    quiet_until = _number_setting(
        "Quiet hours until (hour)",
        0,
        23,
        "… until this hour, in the practice's time zone; mails wait. Empty: 8.",
    )
    submit = SubmitField("Save settings")

    def validate_partner_subject(self, field) -> None:
        """A subject is one line (a line break would let it forge mail headers)."""
        if field.data and any(c in field.data for c in "\r\n"):
            raise ValidationError("Write the subject on one line.")

    def validate_quick_exit_url(self, field) -> None:
        """Only an absolute http(s) address may be a quick exit."""
        if field.data and field.data.strip() and not valid_exit_url(field.data.strip()):
            raise ValidationError("Enter a full address starting with https://.")
