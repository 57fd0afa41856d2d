"""Org admins choose the courses their organisation offers and the ones it requires."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms import db
from lms.admin.forms import role_choices
from lms.errors import InvalidInput
from lms.forms import ConfirmForm, form_status, show_error
from lms.i18n import choose_language, language_name
from lms.people.scope import managing_scope_for
from lms.training import services
from lms.training.forms import OfferedForm, RequirementForm

blueprint = Blueprint("training", __name__, template_folder="templates")


@blueprint.before_request
@login_required
def require_sign_in():
    return None


def _courses():
    return current_app.extensions["lms.catalogue"].all()


def _page(organisation_id: int, offered_form: OfferedForm | None = None, requirement_form: RequirementForm | None = None):
    database = db.get_session()
    scope = managing_scope_for(database, current_user, organisation_id)
    language = choose_language()
    courses = _courses()
    offered = services.offered_courses(database, organisation_id, courses)
    teams = database.scalars(scope.teams()).all()
    if offered_form is None:
        offered_form = OfferedForm(formdata=None, courses=[course.id for course in offered])
    offered_form.courses.choices = [(course.id, course.title(language)) for course in courses]
    if requirement_form is None:
        requirement_form = RequirementForm(formdata=None)
    requirement_form.fill_choices(offered, teams, language)
    titles = {course.id: course.title(language) for course in courses}
    status = max(form_status(offered_form), form_status(requirement_form))
    return render_template(
        "training/settings.html", organisation=scope.organisation, offered_form=offered_form,
        requirement_form=requirement_form, requirements=services.requirements(database, organisation_id),
        titles=titles, offered_ids={course.id for course in offered}, roles=dict(role_choices()),
        confirm_form=ConfirmForm(), courses=courses, language_name=language_name,
    ), status


@blueprint.get("/org/<int:organisation_id>/training")
def settings(organisation_id: int):
    return _page(organisation_id)


@blueprint.post("/org/<int:organisation_id>/training/courses")
def save_offered(organisation_id: int):
    database = db.get_session()
    managing_scope_for(database, current_user, organisation_id)
    form = OfferedForm()
    courses = _courses()
    form.courses.choices = [(course.id, course.id) for course in courses]
    if form.validate_on_submit():
        try:
            services.set_offered(database, organisation_id, courses, set(form.courses.data or []), actor=current_user)
        except InvalidInput as problem:
            show_error(form, problem)
        else:
            database.commit()
            flash(_("The courses your organisation offers have been saved."))
            return redirect(url_for("training.settings", organisation_id=organisation_id))
    return _page(organisation_id, offered_form=form)


@blueprint.post("/org/<int:organisation_id>/training/requirements")
def add_requirement(organisation_id: int):
    database = db.get_session()
    scope = managing_scope_for(database, current_user, organisation_id)
    form = RequirementForm()
    courses = _courses()
    offered = services.offered_courses(database, organisation_id, courses)
    form.fill_choices(offered, database.scalars(scope.teams()).all(), choose_language())
    if form.validate_on_submit():
        try:
            services.add_requirement(database, scope, offered, course_id=form.course_id.data,
                                     team_id=int(form.team_id.data) if form.team_id.data else None,
                                     role=form.role.data or None, due_days=form.due_days.data, actor=current_user)
        except InvalidInput as problem:
            show_error(form, problem)
        else:
            database.commit()
            flash(_("The requirement has been saved."))
            return redirect(url_for("training.settings", organisation_id=organisation_id, _anchor="requirements"))
    return _page(organisation_id, requirement_form=form)


@blueprint.post("/org/<int:organisation_id>/training/requirements/<int:requirement_id>/remove")
def remove_requirement(organisation_id: int, requirement_id: int):
    database = db.get_session()
    managing_scope_for(database, current_user, organisation_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    services.remove_requirement(database, organisation_id, requirement_id, actor=current_user)
    database.commit()
    flash(_("The requirement has been removed."))
    return redirect(url_for("training.settings", organisation_id=organisation_id, _anchor="requirements"))
