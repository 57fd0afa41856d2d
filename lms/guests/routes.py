"""Claiming a walk-in's certificates into an account."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms import db
from lms.errors import InvalidInput
from lms.extensions import limiter
from lms.forms import form_status, show_error
from lms.guests import services
from lms.guests.forms import ClaimForm

blueprint = Blueprint("guests", __name__, template_folder="templates")


def _limit() -> str:
    return current_app.config["ADDRESS_RATE_LIMIT"]


@blueprint.route("/certificates/claim", methods=["GET", "POST"])
@login_required
# Only refused references count, so a guess at other people's certificates runs into the limit.
@limiter.limit(_limit, deduct_when=lambda response: response.status_code == 400, scope="claim")
def claim():
    form = ClaimForm()
    if form.validate_on_submit():
        database = db.get_session()
        try:
            moved = services.claim(database, current_user, form.reference.data)
        except InvalidInput as problem:
            database.rollback()
            show_error(form, problem)
        else:
            database.commit()
            if moved:
                flash(ngettext("%(num)d certificate has been added to your account.",
                               "%(num)d certificates have been added to your account.", moved))
            else:
                flash(_("These certificates are already in your account."))
            return redirect(url_for("learn.my_courses"))
    return render_template("guests/claim.html", form=form), form_status(form)
