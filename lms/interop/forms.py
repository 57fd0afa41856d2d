"""The form an organisation's admin fills in to let their learning platform launch these courses."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length


class LtiPlatformForm(FlaskForm):
    name = StringField(_l("Platform name"), validators=[DataRequired(_l("Enter a name for the platform, 200 characters or fewer")), Length(max=200, message=_l("Enter a name for the platform, 200 characters or fewer"))],
                       description=_l("For your own reference, for example “Trust Moodle”."))
    issuer = StringField(_l("Platform ID (issuer)"), validators=[DataRequired(_l("Enter a web address starting with https://"))],
                         description=_l("The platform shows it when you add the tool. In Moodle it is the site's address."))
    client_id = StringField(_l("Client ID"), validators=[DataRequired(_l("Enter the client ID the platform gave, 255 characters or fewer"))])
    deployment_ids = TextAreaField(_l("Deployment IDs"), validators=[DataRequired(_l("Enter at least one deployment ID"))],
                                   description=_l("One on each line."), render_kw={"rows": 3})
    auth_login_url = StringField(_l("Authentication request URL"), validators=[DataRequired(_l("Enter a web address starting with https://"))])
    auth_token_url = StringField(_l("Access token URL"), validators=[DataRequired(_l("Enter a web address starting with https://"))])
    key_set_url = StringField(_l("Public keyset URL"), validators=[DataRequired(_l("Enter a web address starting with https://"))])
