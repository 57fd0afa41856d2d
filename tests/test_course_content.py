"""The shipped courses load cleanly and meet the size the issue sets for each:
at least 5 modules of roughly 600-1,200 words, a bank of at least 20 questions with an
explanation for every option, a deck of at least 15 slides with speaker notes, and
3-5 learning outcomes."""
from __future__ import annotations

import re

import pytest

from lms.catalogue import load_course
from lms.config import SHIPPED_ROOT

COURSES = SHIPPED_ROOT / "courses"
SHIPPED = ["signs_of_radicalisation", "wrap", "web_guardians"]


def test_the_three_courses_are_shipped():
    found = sorted(path.name for path in COURSES.iterdir() if (path / "course.toml").exists())
    assert found == sorted(SHIPPED)


@pytest.fixture(params=SHIPPED)
def course(request):
    loaded, faults = load_course(COURSES / request.param)
    assert faults == [], "\n".join(str(f) for f in faults)
    return loaded


def test_modules(course):
    assert len(course.module_slugs) >= 5
    for slug, module in course.modules["en"].items():
        assert 600 <= module.words <= 1250, f"{course.id}/{slug} has {module.words} words"
        assert 'class="box box--scenario"' in module.html, f"{course.id}/{slug} has no scenario"


def test_question_bank(course):
    bank = course.question_bank
    assert len(bank) >= 20
    assert len(bank) > course.questions_per_attempt, "a retake must be able to draw different questions"
    for question in bank.values():
        assert all(option.explanation for option in question.options)
        if question.multiple:
            assert re.search(r"all\s+that\s+apply", question.stem, re.I), question.id
    scenarios = [q for q in bank.values() if len(q.stem.split()) >= 20]
    assert len(scenarios) >= len(bank) / 2, "most questions should be scenarios"


def test_slides(course):
    deck = course.deck()
    assert len(deck) >= 15
    for slide in deck:
        assert slide.notes_html.strip(), f"{course.id}: slide {slide.title!r} has no speaker notes"


def test_learning_outcomes_and_pass_mark(course):
    assert 3 <= len(course.learning_outcomes()) <= 5
    assert 1 <= course.pass_mark <= 100


def test_content_gives_the_numbers_to_call(course):
    text = " ".join(m.html for m in course.modules["en"].values())
    assert "999" in text
    assert "0800 789 321" in text or course.id == "web_guardians" and "101" in text


REQUIRED_TRANSLATIONS = {
    "web_guardians": {"ur", "ar", "bn", "pa", "pl", "ro"},
    "wrap": {"ur", "pl", "bn"},
    "signs_of_radicalisation": {"ur", "pl", "bn"},
}


@pytest.mark.parametrize("course_id", SHIPPED)
def test_translations_are_complete_and_carry_a_status(course_id):
    course, faults = load_course(COURSES / course_id)
    assert faults == []
    for language in REQUIRED_TRANSLATIONS[course_id]:
        assert course.languages.get(language) in ("draft", "reviewed"), language
        assert set(course.modules[language]) == set(course.module_slugs), language
        assert set(course.questions[language]) == set(course.question_bank), language
        assert len(course.slides[language]) == len(course.deck()), language
        assert course.title(language) != course.title("en") and course.learning_outcomes(language) != course.learning_outcomes("en")


@pytest.mark.parametrize("course_id", SHIPPED)
def test_no_bank_gives_its_answers_away_by_their_length(course_id):
    """In every bank and every translation of it: the right answer is rarely the longest
    option, is not longer than the wrong ones on average, and has three wrong companions."""
    from lms.catalogue.balance import MAX_LENGTH_RATIO, MAX_LONGEST_SHARE, course_balance

    course, faults = load_course(COURSES / course_id)
    assert faults == []
    balances = course_balance(course)
    assert {b.language for b in balances} == {"en"} | REQUIRED_TRANSLATIONS[course_id]
    for balance in balances:
        print(balance)
        assert balance.single_answer >= 15, balance
        assert balance.longest_share <= MAX_LONGEST_SHARE, balance
        assert balance.mean_ratio <= MAX_LENGTH_RATIO, balance
        assert balance.fewer_than_four == 0, balance


def test_the_balance_measure_catches_a_bank_that_gives_answers_away(tmp_path):
    """The figures above on a bank made to fail, so the test cannot pass by measuring nothing."""
    import shutil

    from lms.catalogue.balance import bank_balance
    from tests.conftest import FIXTURE_COURSES

    folder = tmp_path / "tiny"
    shutil.copytree(FIXTURE_COURSES / "tiny", folder)
    course, faults = load_course(folder)
    assert faults == []
    balance = bank_balance(course, "en")
    # The tiny bank: "Talk to their safeguarding lead." against "Ignore it." and so on.
    assert balance.single_answer == 4 and balance.fewer_than_four == 4
    assert balance.correct_longest == 2 and balance.longest_share == 0.5
    assert balance.mean_ratio == pytest.approx(1.59, abs=0.01)
    assert len(balance.problems) == 3  # the longest share, the ratio and the missing options
