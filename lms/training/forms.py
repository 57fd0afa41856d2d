from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField
from wtforms.validators import InputRequired, NumberRange

from lms.admin.forms import CheckboxesField, role_choices
from lms.models.training import MAX_DUE_DAYS


class OfferedForm(FlaskForm):
    courses = CheckboxesField(_l("Courses your organisation offers"), choices=[], validate_choice=True,
                              description=_l("Learners see only these courses. Progress already made in a course is kept if you stop offering it."))


class RequirementForm(FlaskForm):
    course_id = SelectField(_l("Course"), choices=[], validate_choice=True)
    team_id = SelectField(_l("Who must complete it"), choices=[], validate_choice=True)
    role = SelectField(_l("Role"), choices=[], validate_choice=True)
    due_days = IntegerField(
        _l("Days from joining to complete it"), default=30,
        validators=[InputRequired(_l("Enter a number of days")),
                    NumberRange(0, MAX_DUE_DAYS, _l("Enter a number of days from 0 to %(most)s.", most=MAX_DUE_DAYS))],
        description=_l("People who joined long ago are counted as overdue once this many days have passed since they joined."),
        render_kw={"inputmode": "numeric"})

    def fill_choices(self, courses, teams, language: str) -> None:
        self.course_id.choices = [(course.id, course.title(language)) for course in courses]
        self.team_id.choices = [("", _l("Everyone in the organisation"))] + [(str(team.id), team.name) for team in teams]
        self.role.choices = [("", _l("Any role"))] + role_choices()
