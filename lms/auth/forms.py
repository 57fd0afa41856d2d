from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length

from lms.people.passwords import MAX_LENGTH, MIN_LENGTH

EMAIL = dict(validators=[DataRequired(_l("Enter your email address")), Length(max=254, message=_l("Email address must be 254 characters or fewer"))])


class SignInForm(FlaskForm):
    email = EmailField(_l("Email address"), **EMAIL, render_kw={"autocomplete": "username", "spellcheck": "false"})
    password = PasswordField(_l("Password"), validators=[InputRequired(_l("Enter your password")), Length(max=MAX_LENGTH)],
                             render_kw={"autocomplete": "current-password"})


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email address"), **EMAIL, render_kw={"autocomplete": "username", "spellcheck": "false"})


def _new_password_fields():
    password = PasswordField(
        _l("New password"),
        validators=[InputRequired(_l("Enter a new password")),
                    Length(min=MIN_LENGTH, message=_l("Password must be at least %(n)d characters", n=MIN_LENGTH)),
                    Length(max=MAX_LENGTH, message=_l("Password must be %(n)d characters or fewer", n=MAX_LENGTH))],
        description=_l("At least %(n)d characters. A few unrelated words are easy to remember and hard to guess.", n=MIN_LENGTH),
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Confirm new password"),
        validators=[InputRequired(_l("Enter the new password again")), EqualTo("password", _l("The two passwords do not match"))],
        render_kw={"autocomplete": "new-password"},
    )
    return password, confirm


class ResetPasswordForm(FlaskForm):
    password, confirm = _new_password_fields()


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[InputRequired(_l("Enter your current password")), Length(max=MAX_LENGTH)],
                                     render_kw={"autocomplete": "current-password"})
    password, confirm = _new_password_fields()


class JoinCodeForm(FlaskForm):
    code = StringField(_l("Join code"), validators=[DataRequired(_l("Enter the join code")), Length(max=20, message=_l("Join codes are 8 letters and numbers"))],
                       description=_l("8 letters and numbers, for example KFRT-4Q7M. Your trainer or organisation gives you this."),
                       render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"})


class RegisterForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[DataRequired(_l("Enter your full name")), Length(max=200, message=_l("Name must be 200 characters or fewer"))],
                       description=_l("As you want it to appear on your certificates."), render_kw={"autocomplete": "name"})
    email = EmailField(_l("Email address"), **EMAIL, render_kw={"autocomplete": "email", "spellcheck": "false"})
    preferred_language = SelectField(_l("Language"), validators=[DataRequired()], validate_choice=True)
    password, confirm = _new_password_fields()


class AccountForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[DataRequired(_l("Enter your full name")), Length(max=200, message=_l("Name must be 200 characters or fewer"))],
                       description=_l("As you want it to appear on your certificates."), render_kw={"autocomplete": "name"})
    preferred_language = SelectField(_l("Language"), validators=[DataRequired()], validate_choice=True)
