"""Certificates as drawn: in every design and every language the app offers, no line of text
runs into another, nothing leaves the page, dates read as they do on pages, and the
verification code is set in one Latin font whatever the script around it.

Each certificate is drawn the way `lms certificate render` draws it (preview_drawing, then
render.render_pdf) and read back with poppler-utils: word boxes from `pdftotext -bbox`,
fonts from `pdffonts` and `pdftohtml -xml`."""
from __future__ import annotations

import html
import re
import subprocess
from collections import Counter
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import pytest

from lms.certify import codes, render
from lms.certify.services import preview_drawing
from tests.conftest import make_test_app

TRANSLATIONS = Path(__file__).parent.parent / "translations"
# The interface languages (a catalogue in translations/) and English, the source language.
LANGUAGES = sorted({"en"} | {p.parent.parent.name for p in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")})
DESIGNS = sorted(render.available_templates())

# Realistic, long names, organisations and course titles (the course titles are the courses' own).
SAMPLES = {
    "en": ("Alexandra Catherine Montgomery-Fitzwilliam",
           "Northmoor Borough Council Children's Safeguarding Partnership",
           "WRAP: Workshop to Raise Awareness of Prevent"),
    "pl": ("Małgorzata Brzęczyszczykiewicz-Wiśniewska",
           "Miejski Ośrodek Pomocy Społecznej w Northmoor",
           "WRAP: warsztaty podnoszące wiedzę o programie Prevent"),
    "ro": ("Ștefan-Alexandru Țurcanu-Dumitrescu",
           "Consiliul Local Northmoor – Direcția de Protecție a Copilului",
           "Ocrotitori pe internet: cum îi ținem pe copii în siguranță online"),
    "ar": ("فاطمة الزهراء عبد الرحمن الهاشمي",
           "مجلس بلدية نورثمور لحماية الطفل ورعاية الأسرة",
           "حُرّاس الويب: الحفاظ على سلامة الأطفال على الإنترنت"),
    "bn": ("মোহাম্মদ আব্দুর রহমান চৌধুরী",
           "নর্থমুর বরো কাউন্সিল শিশু সুরক্ষা অংশীদারিত্ব",
           "WRAP: Prevent সম্পর্কে সচেতনতা বাড়ানোর কর্মশালা (Workshop to Raise Awareness of Prevent)"),
    "pa": ("ਗੁਰਪ੍ਰੀਤ ਕੌਰ ਸਿੱਧੂ ਢਿੱਲੋਂ",
           "ਨੌਰਥਮੂਰ ਬਰੋ ਕੌਂਸਲ ਬਾਲ ਸੁਰੱਖਿਆ ਭਾਈਵਾਲੀ",
           "ਵੈੱਬ ਰਖਵਾਲੇ: ਬੱਚਿਆਂ ਨੂੰ ਆਨਲਾਈਨ ਸੁਰੱਖਿਅਤ ਰੱਖਣਾ"),
    "ur": ("سیدہ عائشہ فاطمہ بنت محمد عبدالرحمٰن چوہدری",
           "نارتھ مور بورو کونسل برائے تحفظ و بہبود اطفال",
           "\u2068WRAP\u2069: \u2068Prevent\u2069 کے بارے میں آگاہی بڑھانے کی ورکشاپ"),
}
# A name long enough to wrap onto a second line, where line height matters most.
LONG_NAMES = {
    "en": "Alexandra Catherine Elizabeth Montgomery-Fitzwilliam Ogunbanjo-Richardson",
    "ur": "سیدہ عائشہ فاطمہ بنت محمد عبدالرحمٰن چوہدری المعروف بہ بی بی جان صاحبہ لاہوری و راولپنڈی والی",
    "ar": "فاطمة الزهراء بنت محمد عبد الرحمن الهاشمي القرشي المعروفة بأم عبد الله",
    "bn": "মোহাম্মদ আব্দুর রহমান চৌধুরী ও সৈয়দা রহিমা বেগম খানম তালুকদার মজুমদার",
}
# A name, organisation or course title in another script than the certificate's language.
CROSS_SCRIPT = [("en", "ur"), ("en", "bn"), ("ur", "en"), ("pl", "ar")]
TOLERANCE = 0.5  # points: rounding, and the hair's breadth a kerned pair may share


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    # No database is needed to draw a preview, as for `lms certificate render`.
    return make_test_app(f"sqlite:///{tmp_path_factory.mktemp('layout') / 'unused.sqlite3'}")


def sample(language: str) -> tuple[str, str, str]:
    return SAMPLES.get(language, SAMPLES["en"])  # a new language is still drawn, with English names


@lru_cache(maxsize=64)
def _drawn(design: str, language: str, name: str, organisation: str, course_title: str) -> tuple[bytes, str, str]:
    from flask import current_app

    with current_app.test_request_context():
        drawing = preview_drawing(name=name, course_title=course_title, organisation_name=organisation,
                                  template_name=design, logo=None, base_url="http://localhost", language=language,
                                  validity_months=24)
    assert drawing.template.name == design
    code = re.search(r"/verify/([0-9A-Z-]+)", drawing.html).group(1)
    return render.render_pdf(drawing.html, drawing.fetcher()), drawing.html, code


def drawn(app, design: str, language: str, name: str | None = None) -> tuple[bytes, str, str]:
    """(PDF, HTML, verification code as shown) of a preview certificate, drawn once per test run."""
    default_name, organisation, course_title = sample(language)
    with app.app_context():
        return _drawn(design, language, name or default_name, organisation, course_title)


def poppler(tool: str, pdf: bytes, tmp_path: Path, *args: str) -> str:
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    return subprocess.run([tool, *args, str(path), "-"] if tool != "pdffonts" else [tool, str(path)],
                          capture_output=True, text=True, check=True).stdout


# --- reading word boxes back --------------------------------------------------------------------

PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">')
WORD = re.compile(r'<word xMin="([-\d.]+)" yMin="([-\d.]+)" xMax="([-\d.]+)" yMax="([-\d.]+)">(.*?)</word>')


class Word:
    def __init__(self, x0, y0, x1, y1, text):
        self.x0, self.y0, self.x1, self.y1, self.text = float(x0), float(y0), float(x1), float(y1), html.unescape(text)

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def __repr__(self):
        return f"{self.text!r} x {self.x0:.1f}–{self.x1:.1f} y {self.y0:.1f}–{self.y1:.1f}"


def pages_and_words(pdf: bytes, tmp_path: Path) -> tuple[list[tuple[float, float]], list[Word]]:
    out = poppler("pdftotext", pdf, tmp_path, "-bbox")
    return [(float(w), float(h)) for w, h in PAGE.findall(out)], [Word(*found) for found in WORD.findall(out)]


class Line:
    """Words set on one baseline in one font at one size. Its box is the font's ascent and
    descent around that baseline: the height every word of it shows in pdftotext, and the
    room the font asks for. Nastaliq raises and lowers letters along each word's slant
    (pdftotext then moves that glyph's whole box up or down), but its ascent of 1.9 em and
    descent of 0.6 em are drawn to hold those stacks, so the line's box holds them too."""

    def __init__(self, words: list[Word], height: float):
        self.words, self.height = words, height
        bottoms = Counter(round(w.y1, 1) for w in words)
        self.bottom = max(bottoms, key=lambda y: (bottoms[y], -y))  # most letters sit on the baseline
        self.top = self.bottom - height
        self.spread = max(w.y1 for w in words) - min(w.y1 for w in words)

    def __repr__(self):
        text = " ".join(w.text for w in sorted(self.words, key=lambda w: w.x0))
        return f"line {text[:40]!r} y {self.top:.1f}–{self.bottom:.1f}"


def runs(words: list[Word], height: float) -> list[Line]:
    """Words of one box height as lines: runs whose bottoms lie within a quarter of that
    height of the next."""
    words = sorted(words, key=lambda w: w.y1)
    found, run = [], [words[0]]
    for word in words[1:]:
        if word.y1 - run[-1].y1 > height / 4:
            found.append(Line(run, height))
            run = []
        run.append(word)
    return found + [Line(run, height)]


def lines_of(words: list[Word]) -> list[Line]:
    """Words grouped into lines (poppler's own grouping breaks a Nastaliq line into pieces).
    Every word set in one font at one size has the same box height, so lines are first made
    of the words whose height at least three words share. A Nastaliq word whose letters sit
    at several heights is a little taller (up to about a third): it joins the shorter line
    that holds most of it (three fifths of its height or more). The words left are lines
    among themselves."""
    counts = Counter(round(w.height, 1) for w in words)
    lines = []
    for height in sorted(h for h, n in counts.items() if n >= 3):
        lines += runs([w for w in words if round(w.height, 1) == height], height)
    left = []
    for word in (w for w in words if counts[round(w.height, 1)] < 3):
        fits = [(overlap(word.y0, word.y1, line.top, line.bottom), n) for n, line in enumerate(lines)
                if line.height + TOLERANCE < word.height <= 1.5 * line.height]
        fits = [(depth, n) for depth, n in fits if depth >= 0.6 * word.height]
        if fits:
            lines[max(fits)[1]].words.append(word)
        else:
            left.append(word)
    for height in sorted({round(w.height, 1) for w in left}):
        lines += runs([w for w in left if round(w.height, 1) == height], height)
    for line in lines:
        line.spread = max(w.y1 for w in line.words) - min(w.y1 for w in line.words)
    return lines


def overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return min(a1, b1) - max(a0, b0)


def side_by_side(a: Word, b: Word) -> bool:
    """Whether two words share some width. A mark (a dot, a diacritic) is a box of no width:
    it counts when it lies inside the other word, not when it only touches its edge."""
    if min(a.x1 - a.x0, b.x1 - b.x0) < TOLERANCE:
        return overlap(a.x0, a.x1, b.x0 + TOLERANCE, b.x1 - TOLERANCE) >= 0 or \
            overlap(b.x0, b.x1, a.x0 + TOLERANCE, a.x1 - TOLERANCE) >= 0
    return overlap(a.x0, a.x1, b.x0, b.x1) > TOLERANCE


def shared_width(first: Line, second: Line) -> tuple[Word, Word] | None:
    """A word of each line, one above the other, if there is such a pair. (Words rather than
    the lines' whole widths: a Latin title inside an Urdu line is a line of its own font,
    beside the Urdu words and not above them.)"""
    for a in first.words:
        for b in second.words:
            if side_by_side(a, b):
                return a, b
    return None


def collisions(lines: list[Line]) -> list[str]:
    """Lines whose boxes overlap while one is above the other, and lines whose words spread
    over more than half their height (two lines of one size run together)."""
    found = [f"{line} has words {line.spread:.1f}pt apart: two lines in one?"
             for line in lines if line.spread > line.height / 2]
    for i, first in enumerate(lines):
        for second in lines[i + 1:]:
            depth = overlap(first.top, first.bottom, second.top, second.bottom)
            if depth > TOLERANCE and (pair := shared_width(first, second)):
                found.append(f"{first} runs {depth:.1f}pt into {second} ({pair[0]} over {pair[1]})")
    return found


def closest_lines(lines: list[Line]) -> float:
    """The smallest vertical gap between two lines one above the other (negative: they overlap)."""
    gaps = [max(b.top - a.bottom, a.top - b.bottom) for i, a in enumerate(lines) for b in lines[i + 1:]
            if shared_width(a, b)]
    return min(gaps)


CASES = [(design, language, None) for design in DESIGNS for language in LANGUAGES] + \
        [(design, language, LONG_NAMES[language]) for design in DESIGNS for language in LONG_NAMES] + \
        [(design, language, LONG_NAMES[other]) for design in DESIGNS for language, other in CROSS_SCRIPT]
CASE_IDS = [f"{d}-{lang}" + ("" if n is None else "-long-name" if n == LONG_NAMES.get(lang) else
                             f"-{next(o for o, name in LONG_NAMES.items() if name == n)}-name")
            for d, lang, n in CASES]
MM = 72 / 25.4


def page_margin(design: str) -> float:
    """The design's @page margin in points (the classic frame is drawn just inside it)."""
    css = (render.TEMPLATES_ROOT / design / "certificate.css").read_text(encoding="utf-8")
    return float(re.search(r"@page\s*\{[^}]*margin:\s*([\d.]+)mm", css).group(1)) * MM


def test_every_language_the_app_offers_is_drawn():
    assert {"ar", "bn", "pa", "pl", "ro", "ur", "en"} <= set(LANGUAGES)
    assert {"classic", "simple"} <= set(DESIGNS)


@pytest.mark.parametrize("design, language, name", CASES, ids=CASE_IDS)
def test_no_line_runs_into_another_and_nothing_leaves_the_page(app, tmp_path, design, language, name):
    pdf, _html, _code = drawn(app, design, language, name)
    pages, words = pages_and_words(pdf, tmp_path)
    assert len(pages) == 1, f"{design}/{language}: the certificate spills onto {len(pages)} pages"
    width, height = pages[0]
    assert len(words) > 20
    margin = page_margin(design) - TOLERANCE
    outside = [w for w in words if w.x0 < margin or w.y0 < margin or w.x1 > width - margin or w.y1 > height - margin]
    assert not outside, f"{design}/{language}: words leave the page's printable area: {outside[:5]}"
    found = collisions(lines_of(words))
    assert not found, f"{design}/{language}: {len(found)} collisions, such as " + "; ".join(found[:5])


def test_the_collision_check_sees_lines_that_touch():
    """The check itself: two Latin lines 2pt too close, and two Nastaliq lines whose boxes
    overlap, are caught; a Nastaliq line whose letters are raised and lowered along the slant,
    and a line that only shares its height with a neighbour across a gap, are not."""
    latin = [Word(100, 100, 150, 113.6, "Certificate"), Word(155, 100, 200, 113.6, "of"),
             Word(120, 111.6, 180, 125.2, "completion")]
    assert len(lines_of(latin)) == 2 and collisions(lines_of(latin))
    slanted = [Word(100, 100, 130, 132.5, "a"), Word(131, 94, 131, 126.5, "b"), Word(132, 104, 150, 136.5, "c"),
               Word(133, 95, 140, 132.5, "d"), Word(100, 100, 130, 132.5, "e")]
    assert len(lines_of(slanted)) == 1 and not collisions(lines_of(slanted))
    below = [Word(110, 125, 140, 157.5, "f"), Word(141, 125, 150, 157.5, "g")]
    assert len(lines_of(slanted + below)) == 2 and collisions(lines_of(slanted + below))
    assert not collisions(lines_of(slanted + [Word(110, 133, 140, 165.5, "f"), Word(141, 133, 150, 165.5, "g")]))
    apart = [Word(100, 100, 150, 113.6, "one"), Word(100, 116, 150, 129.6, "two"), Word(300, 110, 330, 123.6, "aside")]
    assert not collisions(lines_of(apart)) and closest_lines(lines_of(apart)) == pytest.approx(2.4)


# --- dates --------------------------------------------------------------------------------------

def test_english_certificates_show_dates_as_pages_do(app, tmp_path):
    from lms.certify.services import fields_for
    from lms.i18n import local_date

    completed = datetime(2026, 12, 5, 10, 0, tzinfo=timezone.utc)
    with app.test_request_context():
        fields = fields_for(name="Ann Lee", course_title="WRAP", completed_at=completed,
                            expires_at=datetime(2028, 12, 5, 10, 0, tzinfo=timezone.utc), method="online",
                            organisation="Northmoor", code=codes.new_code(), verify_url="http://localhost/verify/x",
                            language="en")
        on_pages = local_date(completed)
    assert fields.completed_on == on_pages == "5 December 2026"
    assert fields.expires_on == "5 December 2028"
    template = render.get_template("classic")
    pdf = render.render_pdf(render.render_html(template, fields, has_logo=False),
                            render.make_fetcher(template, logo=None, qr=render.qr_image(fields.verify_url)))
    text = " ".join(poppler("pdftotext", pdf, tmp_path).split())
    assert "5 December 2026" in text and "5 December 2028" in text
    assert "December 5" not in text


@pytest.mark.parametrize("design", DESIGNS)
def test_a_preview_certificate_in_english_reads_day_month_year(app, tmp_path, design):
    pdf, _html, _code = drawn(app, design, "en")
    text = " ".join(poppler("pdftotext", pdf, tmp_path).split())
    assert re.search(r"Completed on: \d{1,2} [A-Z][a-z]+ 20\d\d", text), text
    assert not re.search(r"[A-Z][a-z]+ \d{1,2}, 20\d\d", text), text


# --- the verification code's font ----------------------------------------------------------------

FONTSPEC = re.compile(r'<fontspec id="(\d+)" size="[\d.]+" family="(?:[A-Z]{6}\+)?([^"]+)"')
RUN = re.compile(r'<text top="(-?\d+)" left="(-?\d+)" width="(\d+)" height="(\d+)" font="(\d+)">')
HTML_PAGE = re.compile(r'<page number="1" [^>]*height="(\d+)"')
CODE_FONT = re.compile(r'^\.code, \.url \{ font-family: "(Noto Sans|Noto Serif|Noto Sans Mono)"', re.M)


def latin_font(design: str) -> str:
    """The one Latin font a design sets its code and address in, as the PDF names it."""
    css = (render.TEMPLATES_ROOT / design / "certificate.css").read_text(encoding="utf-8")
    found = CODE_FONT.search(css)
    assert found, f"{design}: no Latin font for .code and .url"
    return found.group(1).replace(" ", "-")


def fonts_drawing(pdf: bytes, tmp_path: Path, wanted: str) -> set[str]:
    """The fonts the word `wanted` is drawn in: pdftotext finds the word's box, and
    pdftohtml, which starts a new run of text wherever the font changes, the runs in it."""
    pages, words = pages_and_words(pdf, tmp_path)
    found = [w for w in words if w.text == wanted]
    assert len(found) == 1, f"{wanted!r} is not one word of its own: {[w for w in words if wanted[:8] in w.text]}"
    word = found[0]
    out = poppler("pdftohtml", pdf, tmp_path, "-xml", "-i", "-stdout")
    families = dict(FONTSPEC.findall(out))
    scale = int(HTML_PAGE.search(out).group(1)) / pages[0][1]  # pdftohtml counts pixels, not points
    fonts = set()
    for top, left, width, height, font in RUN.findall(out):
        x0, y0 = int(left) / scale, int(top) / scale
        x1, y1 = x0 + int(width) / scale, y0 + int(height) / scale
        if overlap(x0, x1, word.x0, word.x1) > 2 and overlap(y0, y1, word.y0, word.y1) > 2:
            fonts.add(families[font])
    return fonts


@pytest.mark.parametrize("design, language", [(d, lang) for d in DESIGNS for lang in LANGUAGES])
def test_the_code_and_address_are_drawn_in_one_latin_font(app, tmp_path, design, language):
    """Noto Nastaliq Urdu and Noto Naskh Arabic have digits but no Latin letters: left to the
    certificate's font, a code's digits came from one font and its letters from another."""
    pdf, _page, code = drawn(app, design, language)
    font = latin_font(design)
    embedded = poppler("pdffonts", pdf, tmp_path)
    assert re.search(rf"\+{font}\s.*\byes\b", embedded), embedded  # embedded, not just named
    assert fonts_drawing(pdf, tmp_path, code) == {font}
    assert fonts_drawing(pdf, tmp_path, f"http://localhost/verify/{code}") == {font}


@pytest.mark.parametrize("design", DESIGNS)
def test_the_code_and_address_carry_their_own_language_and_direction(app, design):
    """Isolated from the right-to-left text around them, with a class for the design's Latin font."""
    _pdf, page, code = drawn(app, design, "ur")
    assert f'<bdi class="code" lang="en" dir="ltr">{code}</bdi>' in page
    assert f'<bdi class="url" lang="en" dir="ltr">http://localhost/verify/{code}</bdi>' in page
    assert latin_font(design) in {"Noto-Sans", "Noto-Serif", "Noto-Sans-Mono"}


def test_an_english_certificate_embeds_one_font(app, tmp_path):
    """The code's font is the design's own: a second embedded font would cost every PDF."""
    for design in DESIGNS:
        pdf, _page, _code = drawn(app, design, "en")
        names = {line.split()[0].split("+", 1)[-1] for line in poppler("pdffonts", pdf, tmp_path).splitlines()[2:]}
        assert names == {latin_font(design)}, (design, names)
