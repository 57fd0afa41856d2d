"""The forms of erasure: each asks for something that shows it is meant."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import InputRequired, Length

from lms.people.passwords import MAX_LENGTH


class DeleteAccountForm(FlaskForm):
    password = PasswordField(_l("Your password"), validators=[InputRequired(_l("Enter your password")), Length(max=MAX_LENGTH)],
                             description=_l("To show it is you, and that you mean it."),
                             render_kw={"autocomplete": "current-password"})
