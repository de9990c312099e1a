"""The login and signup forms of the HTML pages (CSRF comes with FlaskForm)."""

from flask_wtf import FlaskForm
from wtforms import EmailField, Field, PasswordField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from app.auth.passwords import MIN_PASSWORD_LENGTH
from app.validation import CONTROL_CHARS


def plain_text(_form: FlaskForm, field: Field) -> None:
    """The forms' side of the rule `app/validation.py` applies to JSON: no control characters."""
    if field.data and CONTROL_CHARS.search(field.data):
        raise ValidationError("Remove the control characters.")


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), plain_text, Email()])
    password = PasswordField("Password", validators=[DataRequired()])


class SignupForm(FlaskForm):
    name = StringField("Name", validators=[Optional(), plain_text, Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), plain_text, Email(), Length(max=254)])
    password = PasswordField(
        "Password",
        validators=[
            DataRequired(),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=1024,
                message=f"Use at least {MIN_PASSWORD_LENGTH} characters.",
            ),
        ],
    )
