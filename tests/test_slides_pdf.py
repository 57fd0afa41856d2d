"""Trainers' decks as PDFs: every slide of every shipped deck fits its 16:9 page, fonts are
embedded, Urdu is quick to draw, the handout carries the notes, nothing outside the course
is fetched, and the command line writes the file."""
from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lms.catalogue import load_course
from lms.workshops import slides_pdf

COURSES = Path(__file__).resolve().parent.parent / "courses"
SHIPPED = sorted(path.name for path in COURSES.iterdir() if (path / "course.toml").exists())
DECKS = [(course_id, language) for course_id in SHIPPED for language in sorted(load_course(COURSES / course_id)[0].slides)]


def _pdf_facts(tmp_path: Path, data: bytes) -> tuple[int, str, str]:
    path = tmp_path / "deck.pdf"
    path.write_bytes(data)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    pages = int(next(line.split()[1] for line in info.splitlines() if line.startswith("Pages:")))
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return pages, fonts, text


@pytest.mark.parametrize("course_id, language", DECKS)
def test_every_slide_fits_one_page_with_its_fonts_embedded(tmp_path, course_id, language):
    course = load_course(COURSES / course_id)[0]
    pages, fonts, _ = _pdf_facts(tmp_path, slides_pdf.render_deck(course, language))
    assert pages == len(course.deck(language))
    rows = [line.split() for line in fonts.splitlines()[2:] if line.strip()]
    assert rows and all(row[-5] == "yes" for row in rows), fonts  # the "emb" column: every font embedded


def test_an_urdu_deck_of_eighteen_slides_draws_in_under_three_seconds(tmp_path):
    course = load_course(COURSES / "wrap")[0]
    assert len(course.deck("ur")) == 18
    script = ("import sys, time; sys.path.insert(0, '.');"
              "from lms.catalogue import load_course; from lms.workshops.slides_pdf import render_deck;"
              "course = load_course(__import__('pathlib').Path('courses/wrap'))[0];"
              "t = time.perf_counter(); render_deck(course, 'ur'); print(time.perf_counter() - t)")
    # A fresh process: the first deck pays for loading the fonts, as a trainer's download would.
    seconds = float(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                                   cwd=COURSES.parent).stdout.strip())
    assert seconds < 3, seconds
    _, fonts, _ = _pdf_facts(tmp_path, slides_pdf.render_deck(course, "ur"))
    assert "Nastaliq" in fonts


def test_the_handout_carries_each_slides_notes(tmp_path):
    course = load_course(COURSES / "wrap")[0]
    _, _, text = _pdf_facts(tmp_path, slides_pdf.render_deck(course, "en", handout=True))
    first_note_words = " ".join(course.deck("en")[0].notes_html.replace("<", " <").split()[:40])
    words = [w for w in first_note_words.split() if w.isalpha() and len(w) > 5][:3]
    assert words and all(word in text for word in words)


def test_a_deck_language_that_is_missing_falls_back_to_english(tmp_path):
    course = load_course(COURSES / "wrap")[0]
    assert "ro" not in course.slides
    _, _, text = _pdf_facts(tmp_path, slides_pdf.render_deck(course, "ro"))
    assert course.deck("en")[0].title.split()[0] in text


@pytest.mark.parametrize("address", ["https://example.org/x.png", "file:///etc/passwd", "/courses/wrap/assets/../course.toml",
                                     "lms-slides://course/courses/other/assets/x.svg"])
def test_nothing_outside_the_courses_assets_is_fetched(address):
    course = load_course(COURSES / "wrap")[0]
    fetcher = slides_pdf._fetcher(course)
    url = address if "://" in address else slides_pdf.ASSET_BASE + address.lstrip("/")
    with pytest.raises(slides_pdf.RefusedURL):
        fetcher.fetch(url)
    # And a slide that points there still draws, without it.
    slide = dataclasses.replace(course.deck("en")[0], html=f'<p><img src="{address}" alt=""></p>')
    broken = dataclasses.replace(course, slides={"en": [slide]})
    assert slides_pdf.render_deck(broken, "en").startswith(b"%PDF")


def test_the_command_writes_the_deck_and_refuses_an_unknown_course(tmp_path):
    lms = str(Path(sys.executable).with_name("lms"))
    out = tmp_path / "wrap-ur.pdf"
    env = {"LMS_ENV": "development", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([lms, "slides", "export", "--course", "wrap", "--lang", "ur", "--handout", "--out", str(out)],
                          capture_output=True, text=True, env=env, cwd=COURSES.parent)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().startswith(b"%PDF") and "18 slides" in done.stdout
    refused = subprocess.run([lms, "slides", "export", "--course", "nope", "--out", str(tmp_path / "x.pdf")],
                             capture_output=True, text=True, env=env, cwd=COURSES.parent)
    assert refused.returncode != 0 and "No course 'nope'" in refused.stderr
