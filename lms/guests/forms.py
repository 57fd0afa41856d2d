from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired, Length


class ClaimForm(FlaskForm):
    reference = StringField(_l("Reference"), validators=[InputRequired(_l("Enter the reference shown with your certificate")),
                                                        Length(max=40)],
                            description=_l("It is on your phone, under your certificate, for example ABCD-EFGH-JKMN."),
                            render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"})
