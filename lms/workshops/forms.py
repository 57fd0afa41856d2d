from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, RadioField, SelectField, StringField, TextAreaField, TimeField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from lms.workshops.services import MAX_CAPACITY, Plan


class WorkshopForm(FlaskForm):
    course = SelectField(_l("Course"), choices=[], validate_choice=True)
    language = SelectField(_l("Language of the slides and the check-in pages"), choices=[], validate_choice=True)
    day = DateField(_l("Date"), validators=[InputRequired(_l("Enter the date of the session"))])
    start = TimeField(_l("Start time"), validators=[InputRequired(_l("Enter the start time, for example 18:30"))])
    end = TimeField(_l("End time"), validators=[InputRequired(_l("Enter the end time, for example 20:30"))])
    venue = StringField(_l("Venue"), validators=[Length(max=300)],
                        description=_l("The hall or room and its address. Leave it empty for a session that is only online."))
    online_link = StringField(_l("Online link (optional)"), validators=[Length(max=500)],
                              render_kw={"inputmode": "url", "spellcheck": "false"})
    capacity = IntegerField(_l("Number of places (optional)"), validators=[
        Optional(), NumberRange(1, MAX_CAPACITY, _l("Enter a number of places between 1 and 10,000, or leave it empty."))],
        render_kw={"inputmode": "numeric"})
    team = SelectField(_l("For a team (optional)"), choices=[], validate_choice=True)
    trainer = SelectField(_l("Trainer"), choices=[], validate_choice=True)
    notes = TextAreaField(_l("Notes for the calendar (optional)"), validators=[Length(max=2000)],
                          description=_l("Training records only: do not write concerns about a person here."))

    def fill_choices(self, courses: list[tuple[str, str]], languages: list[tuple[str, str]], teams, trainers,
                     me: int) -> None:
        """languages: every deck language of the courses; the service refuses one the chosen course lacks."""
        self.course.choices = courses
        self.language.choices = languages
        self.team.choices = [("", _l("Anyone in the organisation"))] + [(str(team.id), team.name) for team in teams]
        self.trainer.choices = [("", _l("You"))] + [(str(user.id), user.name) for user in trainers if user.id != me]

    def plan(self) -> Plan:
        return Plan(course_id=self.course.data, language=self.language.data, day=self.day.data, start=self.start.data,
                    end=self.end.data, venue=self.venue.data or "", online_link=self.online_link.data or "",
                    capacity=self.capacity.data, team_id=int(self.team.data) if self.team.data else None,
                    trainer_id=int(self.trainer.data) if self.trainer.data else None, notes=self.notes.data or "")


class CancelForm(FlaskForm):
    reason = StringField(_l("Why is it cancelled? (optional)"), validators=[Length(max=500)],
                         description=_l("Kept in the audit log."))


class CheckInCodeForm(FlaskForm):
    code = StringField(_l("Session code"), validators=[InputRequired(_l("Enter the code your trainer shows")),
                                                       Length(max=40)],
                       description=_l("It is on the first slide, for example K7QXM-9TD2B."),
                       render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"})


class WalkInForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[InputRequired(_l("Enter your name as you would like it on your certificate.")),
                                                   Length(max=200)],
                       description=_l("As you would like it on your certificate."), render_kw={"autocomplete": "name"})
    email = StringField(_l("Email address (optional)"), validators=[Length(max=254)],
                        description=_l("Only if you would like your certificate by email later."),
                        render_kw={"autocomplete": "email", "inputmode": "email", "spellcheck": "false"})
    consent = BooleanField(_l("I agree that my name is kept for this session's register and my certificate."))


class AddAttendeeForm(FlaskForm):
    name = StringField(_l("Name"), validators=[InputRequired(_l("Enter the person's name.")), Length(max=200)])
    email = StringField(_l("Email address (optional)"), validators=[Length(max=254)],
                        render_kw={"inputmode": "email", "spellcheck": "false"})


class EvaluationForm(FlaskForm):
    """One stage's questions; with_outcomes adds a 1-to-5 scale for each learning outcome."""

    comment = TextAreaField(validators=[Length(max=1000)], render_kw={"rows": 4},
                            description=_l("Training records only: do not write concerns about a person here. If you are worried about someone, talk to your trainer."))

    @classmethod
    def with_outcomes(cls, outcomes: list[str], comment_label: str, **kwargs) -> EvaluationForm:
        scale = [("1", _l("1: not at all confident")), ("2", "2"), ("3", "3"), ("4", "4"), ("5", _l("5: very confident"))]

        class Questions(cls):
            pass

        for index, outcome in enumerate(outcomes):
            setattr(Questions, f"outcome_{index}", RadioField(outcome, choices=scale, validators=[
                InputRequired(_l("Choose how confident you feel, from 1 to 5."))]))
        form = Questions(**kwargs)
        form.comment.label.text = comment_label
        form.outcome_fields = [form[f"outcome_{index}"] for index in range(len(outcomes))]
        return form

    def ratings(self) -> list[int]:
        return [int(field.data) for field in self.outcome_fields]
