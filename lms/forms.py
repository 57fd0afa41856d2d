"""Form helpers shared by every blueprint."""
from __future__ import annotations

from flask_wtf import FlaskForm

from lms.errors import InvalidInput


class ConfirmForm(FlaskForm):
    """A button-only form: it carries the CSRF token for POSTs such as sign-out or remove."""


def show_error(form: FlaskForm, problem: InvalidInput) -> None:
    """Put a service's message next to the field it is about, or at the top of the form."""
    field = getattr(form, problem.field, None) if problem.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, str(problem.message)]
    else:
        form.form_errors.append(str(problem.message))


def form_has_errors(form: FlaskForm) -> bool:
    return bool(form.errors) or bool(form.form_errors)


def form_status(form: FlaskForm) -> int:
    """400 for a submitted form that has errors, so bad input is never reported as success."""
    return 400 if form.is_submitted() and form_has_errors(form) else 200
