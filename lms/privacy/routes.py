"""A person's own data: what is held about them, to download."""
from __future__ import annotations

import json

from flask import Blueprint, Response
from flask_login import current_user, login_required

from lms import db
from lms.db import utcnow
from lms.privacy import holdings

blueprint = Blueprint("privacy", __name__)


@blueprint.get("/account/your-data.json")
@login_required
def your_data():
    held = holdings.held_about(db.get_session(), current_user.id)
    body = json.dumps({"generated_at": utcnow().isoformat(), **held}, ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="your-data-{utcnow():%Y-%m-%d}.json"'})
