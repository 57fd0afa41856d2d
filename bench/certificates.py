"""Certificate drawing speed and memory, side by side in one run. Prints one JSON object.

    python bench/certificates.py --quick

- single: one certificate in a warm process, against WeasyPrint drawing a bare one-line
  page with the same fonts (target: ratio <= 1.5);
- bulk: 200 certificates as one PDF, against the same 200 pages drawn as one plain
  document (target: ratio <= 3);
- cached: a repeated download of an unchanged certificate through the web app
  (target: <= 20 ms);
- memory: growth of the process over 500 consecutive renders after the first 50
  (target: <= 50 MB).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lms import create_app, db  # noqa: E402
from lms.certify import render, services  # noqa: E402
from lms.certify.services import issue_certificate  # noqa: E402
from lms.db import utcnow  # noqa: E402
from lms.demo import load_demo  # noqa: E402
from lms.learn.services import add_months  # noqa: E402
from lms.migrate import upgrade  # noqa: E402
from lms.models import Certificate, Completion, Organisation, User  # noqa: E402
from lms.people import passwords  # noqa: E402

BARE_PAGE = ('<html><head><style>@page { size: A4 landscape; } html { font-family: "Noto Serif", "Noto Sans", serif; }'
             '</style></head><body><p>Lena Kowalska</p></body></html>')


def median_seconds(action, repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def make_world(directory: str):
    url = f"sqlite:///{directory}/bench.sqlite3"
    upgrade(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "LMS_ENV": "development", "MAIL_OUTBOX": [],
                      "RATELIMIT_ENABLED": False, "CERTIFICATE_CACHE_DIR": Path(directory) / "cache",
                      "COURSE_PATHS": [Path(__file__).resolve().parent.parent / "courses"]})
    with app.app_context():
        session = db.get_session()
        load_demo(session)
        user = session.query(User).filter_by(email="learner@example.org").one()
        organisation = session.query(Organisation).filter_by(name="Northmoor Borough Council").one()
        now = utcnow()
        completion = Completion(user_id=user.id, course_id="wrap", course_version="bench", language="en",
                                method="online", completed_at=now, expires_at=add_months(now, 24))
        session.add(completion)
        session.flush()
        certificate = issue_certificate(session, completion.id, organisation.id)
        session.commit()
        return app, certificate.id


def drawings(app, certificate_id: int, count: int) -> list[services.Drawing]:
    with app.test_request_context():
        session = db.get_session()
        certificate = session.get(Certificate, certificate_id)
        catalogue = app.extensions["lms.catalogue"]
        base = services.drawing_for(session, certificate, catalogue, base_url="https://training.example.org")
        # Distinct names, so no two pages are the same document.
        return [services.Drawing(base.template, base.html.replace("Lena Kowalska", f"Learner Number {n}"), base.logo, base.qr)
                for n in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats of the timings (the figures are the same)")
    args = parser.parse_args()
    repeats = 30 if args.quick else 100
    passwords.HASH_METHOD = "pbkdf2:sha256:1000"
    from weasyprint import HTML

    result: dict = {"benchmark": "certificates"}
    with tempfile.TemporaryDirectory() as directory:
        app, certificate_id = make_world(directory)
        one = drawings(app, certificate_id, 1)[0]

        # Warm both: fonts found, CSS parsed.
        HTML(string=BARE_PAGE).write_pdf()
        render.render_pdf(one.html, one.fetcher())
        bare = median_seconds(lambda: HTML(string=BARE_PAGE).write_pdf(), repeats)
        single = median_seconds(lambda: render.render_pdf(one.html, one.fetcher()), repeats)
        result["single"] = {"certificate_ms": round(single * 1000, 2), "bare_page_ms": round(bare * 1000, 2),
                            "ratio": round(single / bare, 2), "target_ratio": 1.5}

        many = drawings(app, certificate_id, 200)
        started = time.perf_counter()
        bulk_pdf = render.render_pages_pdf([(d.html, d.fetcher()) for d in many])
        bulk = time.perf_counter() - started
        bodies = "".join('<div style="page-break-after: always">' + re.search(r"<body>(.*)</body>", d.html, re.S).group(1) + "</div>"
                         for d in many)
        plain_html = re.sub(r"<body>.*</body>", lambda _m: f"<body>{bodies}</body>", many[0].html, flags=re.S)
        css = render._stylesheet(one.template.folder, render._folder_fingerprint(one.template.folder))
        started = time.perf_counter()
        plain_pdf = HTML(string=plain_html, base_url=render.BASE_URL, url_fetcher=many[0].fetcher()).write_pdf(stylesheets=[css])
        plain = time.perf_counter() - started
        result["bulk"] = {"certificates": 200, "bulk_s": round(bulk, 2), "plain_document_s": round(plain, 2),
                          "ratio": round(bulk / plain, 2), "target_ratio": 3, "bulk_pdf_bytes": len(bulk_pdf),
                          "plain_pdf_bytes": len(plain_pdf)}

        client = app.test_client()
        page = client.get("/sign-in").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        client.post("/sign-in", data={"csrf_token": token, "email": "learner@example.org", "password": "demo-password"})
        with app.app_context():
            code = services.codes.display(db.get_session().get(Certificate, certificate_id).code)
        first = client.get(f"/certificates/{code}.pdf")
        assert first.status_code == 200, first.status_code
        cached = median_seconds(lambda: client.get(f"/certificates/{code}.pdf").close(), repeats)
        result["cached_download"] = {"ms": round(cached * 1000, 2), "target_ms": 20}

        for drawing in many[:50]:
            render.render_pdf(drawing.html, drawing.fetcher())
        after_50 = rss_mb()
        peak = after_50
        for n in range(500):
            drawing = many[n % len(many)]
            render.render_pdf(drawing.html, drawing.fetcher())
            peak = max(peak, rss_mb())
        result["memory"] = {"renders": 500, "rss_after_first_50_mb": round(after_50, 1), "peak_rss_mb": round(peak, 1),
                            "growth_mb": round(peak - after_50, 1), "target_growth_mb": 50}
        app.extensions["lms.engine"].dispose()

    result["targets_met"] = {
        "single": result["single"]["ratio"] <= 1.5, "bulk": result["bulk"]["ratio"] <= 3,
        "cached_download": result["cached_download"]["ms"] <= 20, "memory": result["memory"]["growth_mb"] <= 50,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
