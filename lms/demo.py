"""Fictional demo data: organisations, teams and people in every role.

Every name here is invented. Running it again changes nothing."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.catalogue import Course
from lms.models import Organisation, Role, Team, User
from lms.people import services as people
from lms.people.scope import organisation_scope
from lms.training import services as training

DEMO_PASSWORD = "demo-password"

ORGANISATIONS = {
    "Northmoor Borough Council": ["Housing", "Children's Services", "Libraries"],
    "Eastgate Community Association": ["Web guardians", "Youth club volunteers"],
}

# email, name, language, site admin, [(organisation, role, team)]
PEOPLE = [
    ("admin@example.org", "Sam Site-Admin", "en", True, []),
    ("orgadmin@example.org", "Olu Adeyemi", "en", False, [("Northmoor Borough Council", Role.ORG_ADMIN, None)]),
    ("champion@example.org", "Chris Morgan", "en", False, [("Northmoor Borough Council", Role.CHAMPION, "Housing")]),
    ("trainer@example.org", "Bushra Iqbal", "en", False, [
        ("Northmoor Borough Council", Role.TRAINER, None),
        ("Eastgate Community Association", Role.TRAINER, "Web guardians"),
    ]),
    ("learner@example.org", "Lena Kowalska", "en", False, [("Northmoor Borough Council", Role.LEARNER, "Housing")]),
    ("learner2@example.org", "Dev Sharma", "en", False, [("Northmoor Borough Council", Role.LEARNER, "Children's Services")]),
    ("guardian@example.org", "Farida Begum", "en", False, [("Eastgate Community Association", Role.LEARNER, "Web guardians")]),
    ("eastgate-admin@example.org", "Ioana Popescu", "en", False, [("Eastgate Community Association", Role.ORG_ADMIN, None)]),
]

DESCRIPTIONS = {
    Role.LEARNER: "learner", Role.CHAMPION: "Prevent Champion", Role.TRAINER: "trainer", Role.ORG_ADMIN: "org admin",
}


def _organisation(session: Session, name: str) -> Organisation:
    found = session.scalars(select(Organisation).where(Organisation.name == name)).first()
    return found or people.create_organisation(session, name)


def _team(session: Session, organisation: Organisation, name: str) -> Team:
    found = session.scalars(select(Team).where(Team.organisation_id == organisation.id, Team.name == name)).first()
    if found:
        return found
    team = Team(organisation_id=organisation.id, name=name)
    session.add(team)
    session.flush()
    return team


# organisation -> (team, or None for everyone; days from joining): each installed course is required so.
REQUIREMENTS = {
    "Northmoor Borough Council": (None, 30),
    "Eastgate Community Association": ("Web guardians", 60),
}


# organisation, trainer, days from today, start hour, venue: one past and one upcoming session
# each, of the first course that can be completed by attending.
SESSIONS = [
    ("Northmoor Borough Council", "trainer@example.org", -21, 10, "Northmoor Civic Centre, Committee Room 2"),
    ("Northmoor Borough Council", "trainer@example.org", 14, 18, "Northmoor Community Hall, 1 High Street"),
    ("Eastgate Community Association", "trainer@example.org", 7, 11, "Eastgate Family Centre, Main Hall"),
]


def _demo_sessions(session: Session, organisations: dict, courses: list[Course]) -> None:
    from datetime import date, time, timedelta
    from zoneinfo import ZoneInfo

    from lms.models import Workshop
    from lms.workshops import services as workshops

    for organisation_name, email, days, hour, venue in SESSIONS:
        organisation = organisations[organisation_name]
        if session.scalars(select(Workshop.id).where(Workshop.organisation_id == organisation.id,
                                                     Workshop.venue == venue)).first():
            continue
        choices = workshops.session_courses(session, organisation.id, list(courses))
        if not choices:
            continue
        trainer = session.scalars(select(User).where(User.email == email)).one()
        plan = workshops.Plan(course_id=choices[0].id, language="en", day=date.today() + timedelta(days=days),
                              start=time(hour), end=time(hour + 2), venue=venue, capacity=30, trainer_id=trainer.id)
        scope = organisation_scope(organisation)
        workshop = workshops.schedule(session, scope, trainer, list(courses), plan, ZoneInfo("Europe/London"))
        if days < 0:
            _demo_attendance(session, scope, trainer, workshop, choices[0])


# A past session's register: two staff with accounts and community walk-ins, one of whom left early.
WALK_INS = [("Amina Hussain", True), ("Gosia Nowak", True), ("Farhan Ali", True), ("Ruth Okafor", False)]


def _demo_attendance(session: Session, scope, trainer: User, workshop, course: Course) -> None:
    from lms.workshops import register

    for email in ("learner@example.org", "learner2@example.org"):
        register.check_in_account(session, workshop, session.scalars(select(User).where(User.email == email)).one())
    for name, stayed in WALK_INS:
        attendance = register.check_in_walk_in(session, workshop, name=name, email="", consent=True)
        if not stayed:
            register.set_attended(session, scope, trainer, workshop.id, attendance.id, False)
    register.close_register(session, scope, trainer, workshop.id, course)
    _demo_evaluation(session, workshop, course)


# Confidence 1 to 5 in each outcome, before and after the past session, and what people wrote.
BEFORE_ANSWERS = [(2, 2, 3, 1, "How to tell a real worry from a misunderstanding."), (3, 2, 2, 2, ""),
                  (2, 1, 2, 1, "Who I should call if I am worried about a young person."), (3, 3, 3, 2, ""),
                  (1, 2, 2, 1, "What happens to a family after a referral."), (2, 3, 2, 2, ""), (3, 2, 3, 1, ""),
                  (2, 2, 1, 1, "")]
AFTER_ANSWERS = [(4, 4, 5, 4, "Talk to our safeguarding lead first, not the family."), (4, 3, 4, 4, ""),
                 (5, 4, 4, 3, "Write down what I saw and heard, in the person's own words."), (4, 4, 5, 4, ""),
                 (3, 4, 4, 4, "Check the procedure on our intranet and save the lead's number."), (4, 5, 4, 3, ""),
                 (4, 4, 4, 4, "")]


def _demo_evaluation(session: Session, workshop, course: Course) -> None:
    from lms.workshops import evaluation

    outcomes = len(course.learning_outcomes())
    for stage, answers in ((evaluation.BEFORE, BEFORE_ANSWERS), (evaluation.AFTER, AFTER_ANSWERS)):
        for number, (*ratings, comment) in enumerate(answers):
            # Answers line up with the outcomes: a course with fewer takes the first ones.
            ratings = (list(ratings) * outcomes)[:outcomes]
            evaluation.record(session, workshop, course, stage=stage, respondent=f"demo-{stage}-{number}",
                              ratings=ratings, comment=comment, language="en")


def load_demo(session: Session, courses: list[Course] = ()) -> list[tuple[str, str]]:
    organisations = {}
    teams = {}
    for name, team_names in ORGANISATIONS.items():
        organisations[name] = _organisation(session, name)
        for team_name in team_names:
            teams[(name, team_name)] = _team(session, organisations[name], team_name)

    accounts = []
    for email, name, language, site_admin, places in PEOPLE:
        user = session.scalars(select(User).where(User.email == email)).first()
        if user is None:
            user = people.create_user(session, email=email, name=name, password=DEMO_PASSWORD,
                                      preferred_language=language, site_admin=site_admin)
        descriptions = ["site admin"] if site_admin else []
        for organisation_name, role, team_name in places:
            team = teams[(organisation_name, team_name)] if team_name else None
            people.join_organisation(session, user, organisations[organisation_name], role=role.value,
                                     team_id=team.id if team else None)
            descriptions.append(f"{DESCRIPTIONS[role]}, {organisation_name}" + (f" ({team_name})" if team_name else ""))
        accounts.append((email, "; ".join(descriptions)))

    for organisation_name, (team_name, days) in REQUIREMENTS.items():
        organisation = organisations[organisation_name]
        team = teams[(organisation_name, team_name)] if team_name else None
        for course in courses:
            training.add_requirement(session, organisation_scope(organisation), courses, course_id=course.id,
                                     team_id=team.id if team else None, role=None, due_days=days)
    _demo_sessions(session, organisations, courses)
    return accounts
