"""Run the openbadges validator (PyPI `openbadges`, from its own virtualenv: tests/badges/.venv)
on a hosted assertion, and print its report as JSON.

    validate.py ASSERTION_URL EMAIL

The validator fetches the assertion, badge class, issuer and image over HTTP from the server
under test. The one document it would fetch from elsewhere, the Open Badges 2.0 JSON-LD
context at w3id.org, is served from the copy the validator package itself ships, as this
machine reaches no other site."""
from __future__ import annotations

import json
import sys

import requests
from requests.adapters import BaseAdapter
from requests.models import Response

from openbadges.verifier.openbadges_context import OPENBADGES_CONTEXT_V2_DICT, OPENBADGES_CONTEXT_V2_URI


class ShippedContext(BaseAdapter):
    def send(self, request, **kwargs):
        response = Response()
        response.status_code = 200
        response.url = request.url
        response.headers["Content-Type"] = "application/ld+json"
        response._content = json.dumps(OPENBADGES_CONTEXT_V2_DICT).encode()
        response.request = request
        return response

    def close(self):
        pass


class Session(requests.Session):
    def __init__(self):
        super().__init__()
        self.mount(OPENBADGES_CONTEXT_V2_URI, ShippedContext())


requests.Session = Session

from openbadges import verify  # noqa: E402 (after the session is in place)

report = verify(sys.argv[1], recipient_profile={"email": sys.argv[2]}, use_cache=False)
print(json.dumps(report["report"], indent=2, default=str))
