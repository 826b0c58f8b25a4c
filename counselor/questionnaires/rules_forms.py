"""The builder's forms that work without JavaScript: one item's rules (show when…, stop,
alert) and one scoring rule. builder.js edits the same parts in place; these pages are what a
browser without scripts (or a counselor who prefers plain forms) gets, and their answers go
through the same validator as everything else the builder saves."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from counselor.core.forms import MultiCheckboxField, no_nul
from counselor.questionnaires.parsing import MAX_CONDITIONS, MAX_NUMBER_DIGITS
from counselor.questionnaires.schema import ALERT_SEVERITIES

#: how a condition, a stop or an alert compares the answer, in a counselor's words
OPERATOR_WORDS = {
    "exists": "is answered",
    "=": "is",
    "!=": "is not",
    ">": "is more than",
    "<": "is less than",
    ">=": "is at least",
    "<=": "is at most",
}
COMPARING = [SelectChoice(op, words) for op, words in OPERATOR_WORDS.items() if op != "exists"]
SEVERITY_WORDS = {"urgent": "Urgent", "review": "Review", "info": "Info"}
_ANSWER_HINT = "Yes or no; a number; or the words of one of the question's answers."
_answer = [Optional(), Length(max=300), no_nul]


class ConditionRow(Form):
    """One "show this when <question> <operator> <answer>"; an empty question drops the row."""

    question = SelectField("Question", choices=[], validate_choice=False)
    operator = SelectField(
        "Answer",
        choices=[SelectChoice(op, words) for op, words in OPERATOR_WORDS.items()],
        default="=",
    )
    answer = StringField("Value", validators=_answer, description=_ANSWER_HINT)


class ItemRulesForm(FlaskForm):
    base = IntegerField("Version this page started from", validators=[Optional()])
    conditions = FieldList(FormField(ConditionRow), min_entries=1, max_entries=MAX_CONDITIONS)
    behavior = SelectField(
        "When there are several conditions",
        choices=[
            SelectChoice("all", "all of them must be met"),
            SelectChoice("any", "any one is enough"),
        ],
        default="all",
    )
    stop = BooleanField("Stop the questionnaire after a given answer (for example, under 18)")
    stop_operator = SelectField("When the answer", choices=COMPARING, default="=")
    stop_answer = StringField("Value", validators=_answer, description=_ANSWER_HINT)
    stop_message = TextAreaField(
        "What the partner reads instead of the next page",
        validators=[Optional(), Length(max=1000), no_nul],
        description="Say why, kindly, and whom to reach.",
    )
    alert = BooleanField("Raise an alert for you when the answer meets a rule")
    alert_operator = SelectField("When the answer", choices=COMPARING, default="=")
    alert_answer = StringField("Value", validators=_answer, description=_ANSWER_HINT)
    alert_severity = SelectField(
        "Severity",
        choices=[SelectChoice(s, SEVERITY_WORDS[s]) for s in ALERT_SEVERITIES],
        default="review",
    )
    alert_message = StringField(
        "Message on the case page", validators=[Optional(), Length(max=300), no_nul]
    )


class CutoffRow(Form):
    at_least = StringField("From", validators=[Optional(), Length(max=MAX_NUMBER_DIGITS)])
    text = StringField("Means", validators=[Optional(), Length(max=400), no_nul])


class ScoreRuleForm(FlaskForm):
    base = IntegerField("Version this page started from", validators=[Optional()])
    title = StringField(
        "Title", validators=[DataRequired("Give the score a title."), Length(max=200), no_nul]
    )
    method = SelectField(
        "How", choices=[SelectChoice("sum", "Sum"), SelectChoice("mean", "Mean")], default="sum"
    )
    items = MultiCheckboxField("Items it adds up", choices=[])
    reverse = MultiCheckboxField(
        "Reverse-scored items (a high answer counts low: lowest + highest − the answer)",
        choices=[],
    )
    max_missing = IntegerField(
        "Unanswered items allowed",
        default=0,
        validators=[InputRequired("Enter a whole number (0 for none)."), NumberRange(min=0)],
        description="More unanswered than this: no score. Fewer: the answered ones are prorated.",
    )
    hidden_as = StringField(
        "A follow-up left hidden counts as (optional)",
        validators=[Optional(), Length(max=MAX_NUMBER_DIGITS)],
        description="Leave empty to count a hidden follow-up as unanswered.",
    )
    cutoffs = FieldList(FormField(CutoffRow), min_entries=1, max_entries=20)
    source = TextAreaField(
        "Where the scoring comes from",
        validators=[DataRequired("Say where the scoring comes from."), Length(max=1000), no_nul],
    )
    share = SelectField(
        "Who sees it",
        choices=[
            SelectChoice("counselor_only", "Only the counselor"),
            SelectChoice("shared", "Each partner their own, after release"),
        ],
        default="counselor_only",
    )
