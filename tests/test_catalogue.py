"""The course-plugin contract: loading, validation with file and line, discovery."""
from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lms.catalogue import discover, load_course
from tests.conftest import FIXTURE_COURSES, FormClient, make_test_app

TINY = FIXTURE_COURSES / "tiny"
BIN = Path(sys.executable).parent


@pytest.fixture
def course_copy(tmp_path) -> Path:
    folder = tmp_path / "courses" / "tiny"
    shutil.copytree(TINY, folder)
    return folder


def faults_of(folder: Path) -> list[str]:
    course, faults = load_course(folder)
    assert course is None, "the course should have been refused"
    return [str(fault) for fault in faults]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_fixture_course_loads_whole():
    course, faults = load_course(TINY, course_url=lambda course_id, inside: f"/c/{course_id}/{inside}")
    assert faults == []
    assert course.id == "tiny" and course.version.startswith("1.0.0+")
    assert course.module_slugs == ("01-first", "02-second")
    assert len(course.question_bank) == 5 and len(course.deck()) == 3
    assert course.languages == {"en": "source", "ur": "draft"}
    assert course.title("ur") == "ایک چھوٹا ٹیسٹ کورس" and course.title("pl") == "A tiny test course"
    html = course.modules["en"]["01-first"].html
    assert '<aside class="box box--callout">' in html and '<p class="box__title">A youth worker' in html
    assert '<img src="/c/tiny/assets/circle.svg" alt="A circle standing for a safe space">' in html
    assert 'href="/c/tiny/modules/02-second.md"' in html
    assert "<script" not in html  # raw HTML is shown as text, never run
    assert "Two minutes." in course.deck()[0].notes_html


def test_a_missing_translation_falls_back_to_english():
    course, _ = load_course(TINY)
    assert course.module("01-first", "ur") == (course.modules["ur"]["01-first"], False)
    module, fell_back = course.module("02-second", "ur")
    assert fell_back and module.language == "en"
    translated = course.question("second-question", "ur")
    assert translated.stem.startswith("نوٹس") and translated.answers == frozenset({"a", "b"})


def test_bad_toml_is_named_with_its_line(course_copy):
    edit(course_copy / "course.toml", 'pass_mark = 75', 'pass_mark = = 75')
    [fault] = faults_of(course_copy)
    assert "course.toml:4: not valid TOML" in fault


def test_bad_yaml_is_named_with_its_line(course_copy):
    edit(course_copy / "quiz.yaml", "    answer: a\n  - id: second-question", "    answer: [a\n  - id: second-question")
    faults = faults_of(course_copy)
    assert any("quiz.yaml:" in f and "not valid YAML" in f for f in faults), faults


def test_a_missing_module_file(course_copy):
    (course_copy / "modules" / "02-second.md").unlink()
    faults = faults_of(course_copy)
    assert any("course.toml:7: module 02-second is listed but modules/02-second.md does not exist" in f for f in faults), faults


def test_an_answer_that_is_not_one_of_its_options(course_copy):
    edit(course_copy / "quiz.yaml", "    answer: [a, b]", "    answer: [a, z]")
    faults = faults_of(course_copy)
    assert any("quiz.yaml:13: question second-question: answer z is not one of its options" in f for f in faults), faults


def test_a_duplicate_question_id(course_copy):
    edit(course_copy / "quiz.yaml", "id: third-question", "id: first-question")
    faults = faults_of(course_copy)
    assert any("quiz.yaml:28: duplicate question id first-question" in f for f in faults), faults


def test_a_translation_whose_ids_do_not_match(course_copy):
    edit(course_copy / "quiz.ur.yaml", "id: fifth-question", "id: sixth-question")
    (course_copy / "modules" / "03-missing.ur.md").write_text("---\ntitle: x\n---\nx\n", encoding="utf-8")
    faults = faults_of(course_copy)
    assert any("quiz.ur.yaml:" in f and "sixth-question is not in the English bank" in f for f in faults), faults
    assert any("quiz.ur.yaml: question fifth-question from the English bank is missing" in f for f in faults), faults
    assert any("03-missing.ur.md: translates 03-missing, which is not a module" in f for f in faults), faults


def test_translated_options_must_match(course_copy):
    edit(course_copy / "quiz.ur.yaml", "      - {id: c, text: سزا, explanation: نہیں۔}\n", "")
    faults = faults_of(course_copy)
    assert any("question second-question: option ids ['a', 'b'] do not match" in f for f in faults), faults


def test_broken_links_and_images_and_missing_alt_text(course_copy):
    lesson = course_copy / "modules" / "02-second.md"
    lesson.write_text(lesson.read_text() + "\n[gone](03-gone.md)\n\n![](../assets/circle.svg)\n\n![A map](../assets/map.svg)\n\n[outside](../../../etc/passwd)\n")
    faults = faults_of(course_copy)
    assert any("02-second.md:10: broken link: 03-gone.md" in f for f in faults), faults
    assert any("02-second.md:12: image ../assets/circle.svg has no alt text" in f for f in faults), faults
    assert any("02-second.md:14: broken image: ../assets/map.svg" in f for f in faults), faults
    assert any("02-second.md:16: broken link: ../../../etc/passwd" in f for f in faults), faults


def test_slides_need_headings_and_translated_decks_the_same_length(course_copy):
    (course_copy / "slides.ur.md").write_text("# ایک\n\nNote:\nنوٹس\n", encoding="utf-8")
    edit(course_copy / "slides.md", "# Where to get help", "Where to get help")
    faults = faults_of(course_copy)
    assert any("slides.md:" in f and "each slide must start with a # heading" in f for f in faults), faults
    assert any("slides.ur.md: has 1 slides; the English deck has 2" in f for f in faults), faults


def test_manifest_values_are_checked(course_copy):
    edit(course_copy / "course.toml", "questions_per_attempt = 4", "questions_per_attempt = 40")
    edit(course_copy / "course.toml", 'completion = "online_or_attendance"', 'completion = "sometimes"')
    edit(course_copy / "course.toml", 'ur = "draft"', 'ur = "finished"')
    faults = faults_of(course_copy)
    assert any("questions_per_attempt is 40 but the bank has only 5 questions" in f for f in faults), faults
    assert any("course.toml:6: completion must be one of" in f for f in faults), faults
    assert any("translation status of ur must be draft or reviewed" in f for f in faults), faults


def test_changing_content_changes_the_version_but_reviewing_a_translation_does_not(course_copy):
    before, _ = load_course(course_copy)
    edit(course_copy / "course.toml", 'ur = "draft"', 'ur = "reviewed"')
    reviewed, _ = load_course(course_copy)
    assert reviewed.version == before.version
    edit(course_copy / "course.toml", 'ur = "ایک چھوٹا ٹیسٹ کورس"', 'ur = "ایک چھوٹا ٹیسٹ کورس (نیا)"')
    edit(course_copy / "modules" / "01-first.ur.md", "یہ پہلا سبق ہے۔", "یہ پہلا سبق ہے، نیا۔")
    retranslated, _ = load_course(course_copy)
    assert retranslated.version == before.version
    edit(course_copy / "modules" / "02-second.md", "Talk to your safeguarding lead.", "Talk to your designated safeguarding lead.")
    changed, _ = load_course(course_copy)
    assert changed.version != before.version and changed.version.startswith("1.0.0+")


def test_a_broken_course_is_skipped_with_a_logged_error_never_a_500(course_copy, tmp_path, database_url, caplog):
    broken = course_copy.parent / "broken"
    shutil.copytree(TINY, broken)
    edit(broken / "course.toml", 'id = "tiny"', 'id = "broken"')
    edit(broken / "quiz.yaml", "    answer: a\n  - id: second-question", "    answer: q\n  - id: second-question")
    with caplog.at_level(logging.ERROR):
        app = make_test_app(database_url, COURSE_PATHS=[course_copy.parent])
    assert "broken" in caplog.text and "answer q is not one of its options" in caplog.text
    assert sorted(app.extensions["lms.catalogue"].courses) == ["tiny"]
    client = FormClient(app.test_client(), [])
    from lms import db
    from lms.demo import load_demo

    with app.app_context():
        load_demo(db.get_session())
        db.get_session().commit()
    client.sign_in("learner@example.org")
    assert client.get("/courses").status_code == 200
    assert client.get("/courses/broken").status_code == 404


def test_two_courses_with_one_id(course_copy):
    twin = course_copy.parent / "twin"
    shutil.copytree(TINY, twin)
    catalogue = discover([course_copy.parent], include_installed=False)
    assert list(catalogue.courses) == ["tiny"]
    assert any("is already used by" in str(f) for faults in catalogue.broken.values() for f in faults)


def lms_command(*args, env_extra=None):
    env = {**os.environ, "LMS_ENV": "development", "LMS_SECRET_KEY": "x", **(env_extra or {})}
    return subprocess.run([str(BIN / "lms"), *args], capture_output=True, text=True, env=env, timeout=120)


def test_courses_check_exits_1_and_names_each_fault(course_copy):
    ok = lms_command("courses", "check", str(course_copy))
    assert ok.returncode == 0 and "ok      tiny" in ok.stdout
    edit(course_copy / "quiz.yaml", "id: third-question", "id: first-question")
    bad = lms_command("courses", "check", str(course_copy))
    assert bad.returncode == 1
    assert "quiz.yaml:28: duplicate question id first-question" in bad.stderr


def test_courses_list_json():
    listed = lms_command("courses", "list", "--json", env_extra={"LMS_COURSE_PATHS": str(FIXTURE_COURSES)})
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == [{
        "id": "tiny", "version": load_course(TINY)[0].version, "title": "A tiny test course",
        "modules": 2, "questions": 5, "slides": 3, "languages": {"en": "source", "ur": "draft"},
    }]


def test_an_installed_course_package_appears(tmp_path):
    package = tmp_path / "pkg"
    shutil.copytree(TINY, package / "extra_course")
    (package / "extra_course" / "__init__.py").write_text("")
    edit(package / "extra_course" / "course.toml", 'id = "tiny"', 'id = "extra_course"')
    (package / "pyproject.toml").write_text(textwrap.dedent("""
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "lms-extra-course"
        version = "1.0"

        [project.entry-points."lms.courses"]
        extra_course = "extra_course"

        [tool.setuptools.package-data]
        extra_course = ["*.toml", "*.yaml", "*.md", "modules/*.md", "assets/*"]
    """))
    site = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                                "--target", str(site), str(package)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr
    empty = tmp_path / "no-courses"
    empty.mkdir()
    listed = lms_command("courses", "list", "--json", env_extra={"PYTHONPATH": str(site), "LMS_COURSE_PATHS": str(empty)})
    assert listed.returncode == 0, listed.stderr
    assert [course["id"] for course in json.loads(listed.stdout)] == ["extra_course"]
    without = lms_command("courses", "list", "--json", env_extra={"LMS_COURSE_PATHS": str(empty)})
    assert json.loads(without.stdout) == []
