"""Form helpers shared by every blueprint."""
from __future__ import annotations

from flask import current_app, request
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


def accepts_uploads_up_to(limit: int):
    """Let one view read request bodies up to `limit` bytes instead of MAX_CONTENT_LENGTH, so
    that a file over its own, smaller limit reaches the form and gets the form's message."""
    def mark(view):
        view.upload_limit = limit
        return view
    return mark


def apply_upload_limit() -> None:
    """Registered before CSRF protection, which is the first to read a request's form."""
    view = current_app.view_functions.get(request.endpoint)
    limit = getattr(view, "upload_limit", None)
    if limit is not None:
        request.max_content_length = limit
