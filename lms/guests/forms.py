from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired, Length


def _reference_field(description):
    return StringField(_l("Reference code"),
                       validators=[InputRequired(_l("Enter your reference code")), Length(max=60)],
                       description=description,
                       render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"})


class ClaimForm(FlaskForm):
    reference = _reference_field(_l("The code you kept when you learned without an account, or the one shown with a "
                                    "certificate from a session, for example 406 118 372 905 661 284."))


class ResumeForm(FlaskForm):
    reference = _reference_field(_l("18 digits, for example 406 118 372 905 661 284. Spaces do not matter."))


class CertificateNameForm(FlaskForm):
    name = StringField(_l("Your name, as it should appear on the certificate"),
                       validators=[InputRequired(_l("Enter the name to print on your certificate")),
                                   Length(max=200, message=_l("Name must be 200 characters or fewer"))],
                       render_kw={"autocomplete": "name", "spellcheck": "false"})
