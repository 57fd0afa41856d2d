"""Marking a course translation reviewed, by trainers and org admins who read the language."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms import db
from lms.forms import ConfirmForm
from lms.i18n import language_name
from lms.models import Role
from lms.people.scope import holds_role_anywhere
from lms.translate import services

blueprint = Blueprint("translate", __name__, template_folder="templates")


REVIEWERS = (Role.TRAINER.value, Role.ORG_ADMIN.value)


@blueprint.app_template_global("may_review_translations")
def _may_review() -> bool:
    """Trainers and org admins may see and mark a course's translations; links to the page
    are shown only to them."""
    return current_user.is_authenticated and holds_role_anywhere(db.get_session(), current_user, REVIEWERS)


def _course(course_id: str):
    course = current_app.extensions["lms.catalogue"].get(course_id)
    if course is None or not _may_review():
        abort(404)
    return course


@blueprint.get("/courses/<course_id>/translations")
@login_required
def course_translations(course_id: str):
    course = _course(course_id)
    database = db.get_session()
    review_map = services.reviews(database, [course.id])
    rows = [(language, status, review_map.get((course.id, language)), language_name(language),
             services.course_completeness(course, language, status))
            for language, status in services.statuses(database, course).items() if status != "source"]
    return render_template("translate/course.html", course=course, rows=rows, form=ConfirmForm())


@blueprint.post("/courses/<course_id>/translations/<language>/reviewed")
@login_required
def mark_reviewed(course_id: str, language: str):
    course = _course(course_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    database = db.get_session()
    services.mark_reviewed(database, course, language, current_user)
    database.commit()
    flash(_("The %(language)s translation of %(course)s is marked as reviewed.", language=language_name(language),
            course=course.title()))
    return redirect(url_for("translate.course_translations", course_id=course.id))
