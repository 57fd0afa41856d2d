from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length


class VerifyForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form anyone may use, that changes nothing

    code = StringField(_l("Verification code"), validators=[DataRequired(_l("Enter the verification code")), Length(max=64, message=_l("Verification codes are 17 letters and numbers"))],
                       description=_l("It is on the certificate, under the QR code, like 7K2M-9QXD-4TRW-8B3N-5."),
                       render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"})


class RevokeForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(_l("Give the reason for revoking the certificate")),
                                                      Length(max=1000, message=_l("The reason must be 1,000 characters or fewer"))],
                           description=_l("The person's certificate will show as revoked to anyone who checks it. The reason is kept for your records and not shown publicly. Training records only: do not write concerns about a person here."))


class DesignForm(FlaskForm):
    template = RadioField(_l("Certificate design"), choices=[], validate_choice=True)
    logo = FileField(_l("Logo (optional)"), description=_l("A PNG or SVG file, smaller than 512 KB. It appears at the top of each certificate."),
                     render_kw={"accept": ".png,.svg,image/png,image/svg+xml"})
    remove_logo = BooleanField(_l("Remove the current logo"))


class BatchForm(FlaskForm):
    kind = RadioField(_l("Format"), choices=[("pdf", _l("One PDF, a certificate on each page, for printing")),
                                             ("zip", _l("A ZIP file of separate PDFs, for emailing"))],
                      default="pdf", validate_choice=True)
    course = SelectField(_l("Course"), choices=[], validate_choice=True)
