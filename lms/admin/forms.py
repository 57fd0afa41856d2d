from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import EmailField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.widgets import CheckboxInput, ListWidget
from wtforms.validators import DataRequired, Length

from lms.models import Role

NAME = [DataRequired(_l("Enter a name")), Length(max=200, message=_l("Name must be 200 characters or fewer"))]


def role_choices():
    labels = {
        Role.LEARNER.value: _l("Learner"),
        Role.CHAMPION.value: _l("Prevent Champion"),
        Role.TRAINER.value: _l("Trainer"),
        Role.ORG_ADMIN.value: _l("Organisation admin"),
    }
    return [(role, labels[role]) for role in Role.values()]


def team_choices(teams) -> list[tuple[str, str]]:
    return [("", _l("No team"))] + [(str(team.id), team.name) for team in teams]


class OrganisationForm(FlaskForm):
    name = StringField(_l("Organisation name"), validators=NAME)


class TeamForm(FlaskForm):
    name = StringField(_l("Team name"), validators=NAME)


class InviteForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[DataRequired(_l("Enter an email address")), Length(max=254)],
                       render_kw={"spellcheck": "false"})
    name = StringField(_l("Name (optional)"), validators=[Length(max=200, message=_l("Name must be 200 characters or fewer"))])
    role = SelectField(_l("Role"), choices=role_choices, default=Role.LEARNER.value)
    team = SelectField(_l("Team"), choices=[], validate_choice=True)


class InviteUploadForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[FileRequired(_l("Choose a CSV file to upload"))],
                     description=_l("Columns: email, name, role, team. Only email is required. Save the file as CSV UTF-8."),
                     render_kw={"accept": ".csv,text/csv"})


class CheckboxesField(SelectMultipleField):
    """A GOV.UK checkbox group, for the radios() macro."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class MembershipForm(FlaskForm):
    role = SelectField(_l("Role"), choices=role_choices)
    team = SelectField(_l("Team"), choices=[], validate_choice=True)
    championed = CheckboxesField(_l("Further teams they champion (Prevent Champions only)"), choices=[], coerce=int,
                                 validate_choice=True,
                                 description=_l("A Prevent Champion sees the training of their own team and of the teams ticked here."))


def _stripped(value):
    return value.strip() if isinstance(value, str) else value


class PrivacyDetailsForm(FlaskForm):
    """The organisation's details on the privacy notice; both may be left empty."""

    controller = StringField(_l("Who is responsible for your people's data"), filters=[_stripped],
                             validators=[Length(max=300, message=_l("The name must be 300 characters or fewer"))],
                             description=_l("Usually your organisation's legal name. In law, it is the data controller."))
    contact = TextAreaField(_l("How to contact them about people's data"), filters=[_stripped],
                            validators=[Length(max=1000, message=_l("The contact details must be 1,000 characters or fewer"))],
                            description=_l("For example your data protection officer's email address, phone number or postal address. Anyone can read it on the privacy notice."),
                            render_kw={"rows": 5})
