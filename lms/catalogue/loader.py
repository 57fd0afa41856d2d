"""Reading one course folder into a Course, collecting every fault on the way.

A course loads whole or not at all: load_course returns (course, []) or (None, faults),
each fault naming the file and line an author must fix.
"""
from __future__ import annotations

import hashlib
import json
import re
import tomllib
from pathlib import Path

import yaml

from lms.catalogue import markdown
from lms.catalogue.model import (COMPLETION_METHODS, SOURCE_LANGUAGE, TRANSLATION_STATUSES, Course, Fault, Module,
                                 Option, Question, Slide)

COURSE_ID = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Za-z]{2,4})?$")
SLIDE_SEPARATOR = re.compile(r"^---[ \t]*$", re.MULTILINE)
NOTES_MARKER = re.compile(r"^Note:[ \t]*$", re.MULTILINE)
LINE_KEY = "__line__"
LANGUAGE_TABLES = ("title", "summary", "audience", "learning_outcomes")


# --- YAML with line numbers --------------------------------------------------------------

class _LineLoader(yaml.SafeLoader):
    pass


def _mapping_with_line(loader, node, deep=False):
    mapping = yaml.SafeLoader.construct_mapping(loader, node, deep=deep)
    mapping[LINE_KEY] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


class _Faults(list):
    def add(self, path: Path, line: int | None, message: str) -> None:
        self.append(Fault(path, line, message))


def _line_of(text: str, needle: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return None


def _read(path: Path, faults: _Faults) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        faults.add(path, None, "is not UTF-8 text")
    except OSError as error:
        faults.add(path, None, f"cannot be read: {error.strerror}")
    return None


def _load_yaml(path: Path, faults: _Faults):
    text = _read(path, faults)
    if text is None:
        return None
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        faults.add(path, mark.line + 1 if mark else None, f"not valid YAML: {problem}")
        return None


def _text(value) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


# --- the manifest ------------------------------------------------------------------------

def _manifest(folder: Path, faults: _Faults) -> tuple[dict, str] | None:
    path = folder / "course.toml"
    text = _read(path, faults) if path.exists() else None
    if text is None:
        if not path.exists():
            faults.add(path, None, "is missing")
        return None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        line = re.search(r"line (\d+)", str(error))
        faults.add(path, int(line.group(1)) if line else None, f"not valid TOML: {error}")
        return None
    return data, text


def _language_table(data: dict, key: str, path: Path, text: str, faults: _Faults, *, required: bool, kind=str) -> dict:
    table = data.get(key, {})
    if not isinstance(table, dict):
        faults.add(path, _line_of(text, key), f"[{key}] must be a table of languages, like en = \"...\"")
        return {}
    if required and not table.get(SOURCE_LANGUAGE):
        faults.add(path, _line_of(text, f"[{key}]") or None, f"[{key}] needs an English value: en = ...")
    result = {}
    for language, value in table.items():
        ok = isinstance(value, kind) and bool(value) and (kind is str or all(isinstance(v, str) and v.strip() for v in value))
        if not ok:
            faults.add(path, _line_of(text, f"{language} ="), f"[{key}] {language} must be " + ("text" if kind is str else "a list of texts"))
            continue
        result[language] = value
    return result


def _integer(data: dict, key: str, low: int, high: int, path: Path, text: str, faults: _Faults) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        faults.add(path, _line_of(text, key), f"{key} must be a whole number from {low} to {high}")
        return low
    return value


# --- lessons -----------------------------------------------------------------------------

def _front_matter(text: str, path: Path, faults: _Faults) -> tuple[dict, str, int]:
    """(front matter, body, line the body starts on)."""
    if not text.startswith("---"):
        faults.add(path, 1, "must start with front matter: a line ---, title: ..., and another line ---")
        return {}, text, 1
    closing = re.search(r"^---[ \t]*$", text[3:], re.MULTILINE)
    if closing is None:
        faults.add(path, 1, "front matter is not closed by a line holding only ---")
        return {}, text, 1
    header = text[3:3 + closing.start()]
    body = text[3 + closing.end():]
    body_line = header.count("\n") + 2
    try:
        meta = yaml.safe_load(header) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        faults.add(path, (mark.line + 2) if mark else 1, f"front matter is not valid YAML: {getattr(error, 'problem', error)}")
        return {}, body, body_line
    if not isinstance(meta, dict):
        faults.add(path, 2, "front matter must be key: value lines")
        return {}, body, body_line
    return meta, body, body_line


def _check_references(text: str, first_line: int, path: Path, root: Path, faults: _Faults) -> None:
    for reference in markdown.references(text, first_line):
        if reference.kind == "image" and not reference.alt:
            faults.add(path, reference.line, f"image {reference.target} has no alt text: write ![what it shows]({reference.target})")
        if markdown.is_relative(reference.target):
            target = markdown.resolve(path, root, reference.target)
            if target is None or not target.exists():
                faults.add(path, reference.line, f"broken {reference.kind}: {reference.target} does not exist in the course")


def _module(path: Path, slug: str, language: str, root: Path, course_url, faults: _Faults) -> Module | None:
    text = _read(path, faults)
    if text is None:
        return None
    before = len(faults)
    meta, body, body_line = _front_matter(text, path, faults)
    title = _text(meta.get("title"))
    if meta and title is None:
        faults.add(path, 2, "front matter needs a title")
    _check_references(body, body_line, path, root, faults)
    if len(faults) > before:
        return None
    return Module(slug=slug, language=language, title=title, summary=_text(meta.get("summary")) or "",
                  html=markdown.render(body, course_url, base="modules"), words=markdown.words(body))


# --- the question bank -------------------------------------------------------------------

def _questions(path: Path, faults: _Faults, *, source: dict[str, Question] | None, module_slugs: tuple[str, ...]) -> dict[str, Question]:
    data = _load_yaml(path, faults)
    if data is None:
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list) or not data["questions"]:
        faults.add(path, 1, "must hold a list under questions:")
        return {}
    bank: dict[str, Question] = {}
    for entry in data["questions"]:
        if not isinstance(entry, dict):
            faults.add(path, None, "each question must be a mapping with id, stem and options")
            continue
        line = entry.get(LINE_KEY)
        question_id = entry.get("id")
        if not isinstance(question_id, str) or not question_id.strip():
            faults.add(path, line, "question has no id (quote it if it looks like a number or yes/no)")
            continue
        if question_id in bank:
            faults.add(path, line, f"duplicate question id {question_id}")
            continue
        stem = _text(entry.get("stem"))
        if stem is None:
            faults.add(path, line, f"question {question_id} has no stem")
        options = []
        option_ids: set[str] = set()
        for option in entry.get("options") or []:
            option_line = option.get(LINE_KEY, line) if isinstance(option, dict) else line
            if not isinstance(option, dict) or not isinstance(option.get("id"), str) or not option["id"].strip():
                faults.add(path, option_line, f"question {question_id}: each option needs an id (quote it)")
                continue
            if option["id"] in option_ids:
                faults.add(path, option_line, f"question {question_id}: duplicate option id {option['id']}")
                continue
            option_ids.add(option["id"])
            text, explanation = _text(option.get("text")), _text(option.get("explanation"))
            if text is None:
                faults.add(path, option_line, f"question {question_id}: option {option['id']} has no text")
            if explanation is None:
                faults.add(path, option_line, f"question {question_id}: option {option['id']} has no explanation")
            options.append(Option(option["id"], text or "", explanation or ""))
        if len(options) < 2:
            faults.add(path, line, f"question {question_id} needs at least two options")

        if source is None:  # the English bank carries the answers
            multiple = entry.get("multiple", False)
            if not isinstance(multiple, bool):
                faults.add(path, line, f"question {question_id}: multiple must be true or false")
                multiple = False
            raw = entry.get("answer")
            answers = raw if isinstance(raw, list) else [raw]
            if raw is None or not answers or not all(isinstance(a, str) for a in answers):
                faults.add(path, line, f"question {question_id}: answer must be an option id, or a list of them (quote ids)")
                answers = []
            for answer in answers:
                if answer not in option_ids:
                    faults.add(path, line, f"question {question_id}: answer {answer} is not one of its options ({', '.join(sorted(option_ids))})")
            if not multiple and len(answers) > 1:
                faults.add(path, line, f"question {question_id}: several answers need multiple: true")
            module = entry.get("module")
            if module is not None and module not in module_slugs:
                faults.add(path, line, f"question {question_id}: module {module} is not in course.toml")
            bank[question_id] = Question(question_id, stem or "", tuple(options), multiple, module, frozenset(answers))
        else:
            original = source.get(question_id)
            if original is None:
                faults.add(path, line, f"question {question_id} is not in the English bank")
                continue
            if option_ids != {o.id for o in original.options}:
                faults.add(path, line, f"question {question_id}: option ids {sorted(option_ids)} do not match the English bank {sorted(o.id for o in original.options)}")
            bank[question_id] = Question(question_id, stem or "", tuple(options), original.multiple, original.module)
    if source is not None:
        for missing in sorted(set(source) - set(bank)):
            faults.add(path, None, f"question {missing} from the English bank is missing")
    return bank


# --- the deck ----------------------------------------------------------------------------

UNTRANSLATED_SLIDE = "(untranslated)"


def _slides(path: Path, root: Path, course_url, faults: _Faults, *, language: str = SOURCE_LANGUAGE,
            source: list[Slide] | None = None) -> list[Slide]:
    """The deck in one language. A translated slide that is just "(untranslated)" stands for
    the English slide at the same place, so a translator can deliver a deck a slide at a time."""
    text = _read(path, faults)
    if text is None:
        return []
    slides = []
    line = 1
    for chunk in SLIDE_SEPARATOR.split(text):
        start_line = line + (len(chunk) - len(chunk.lstrip("\n")) if chunk.strip() else 0)
        line += chunk.count("\n") + 1
        if not chunk.strip():
            continue
        body = chunk.strip("\n")
        if source is not None and body.strip() == UNTRANSLATED_SLIDE:
            slides.append(source[len(slides)] if len(slides) < len(source) else source[-1])
            continue
        heading = re.match(r"#[ \t]+(.+)", body)
        if heading is None:
            faults.add(path, start_line, "each slide must start with a # heading")
            continue
        content, notes = _split_notes(body[heading.end():])
        _check_references(content, start_line + 1, path, root, faults)
        slides.append(Slide(title=heading.group(1).strip(), html=markdown.render(content, course_url),
                            notes_html=markdown.render(notes, course_url), language=language))
    if not slides:
        faults.add(path, 1, "has no slides")
    return slides


def _split_notes(text: str) -> tuple[str, str]:
    """(what the slide shows, the speaker notes after "Note:")."""
    parts = NOTES_MARKER.split(text, maxsplit=1)
    return (parts[0], parts[1]) if len(parts) == 2 else (parts[0], "")


# --- the whole course --------------------------------------------------------------------

def _translation_files(folder: Path, pattern: str) -> dict[str, Path]:
    found = {}
    for path in sorted(folder.glob(pattern)):
        language = path.name.split(".")[-2]
        found[language] = path
    return found


def _digest(manifest: dict, folder: Path, module_slugs: tuple[str, ...]) -> str:
    """A fingerprint of the English content: the lessons, quiz, deck and manifest, not
    translations or their statuses, so translating a course or marking a translation
    reviewed changes no version."""
    digest = hashlib.sha256()
    stable = {key: value.get(SOURCE_LANGUAGE) if key in LANGUAGE_TABLES and isinstance(value, dict) else value
              for key, value in manifest.items() if key != "translations"}
    digest.update(json.dumps(stable, sort_keys=True, default=str).encode())
    for path in [folder / "modules" / f"{slug}.md" for slug in module_slugs] + [folder / "quiz.yaml", folder / "slides.md"]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()


def load_course(folder: Path, course_url=None) -> tuple[Course | None, list[Fault]]:
    """course_url(course_id, path inside the course) -> web address, for images and links
    between lessons; None leaves references as written."""
    faults = _Faults()
    folder = folder.resolve()
    loaded = _manifest(folder, faults)
    if loaded is None:
        return None, list(faults)
    data, text = loaded
    manifest_path = folder / "course.toml"

    course_id = data.get("id")
    if not isinstance(course_id, str) or not COURSE_ID.match(course_id):
        faults.add(manifest_path, _line_of(text, "id"), "id must be lower-case letters, digits and _ (like wrap)")
        course_id = folder.name
    version = data.get("version")
    if not isinstance(version, str) or not version.strip():
        faults.add(manifest_path, _line_of(text, "version"), 'version must be text, like "1.0.0"')
        version = "0"
    completion = data.get("completion", "online")
    if completion not in COMPLETION_METHODS:
        faults.add(manifest_path, _line_of(text, "completion"), f"completion must be one of {', '.join(COMPLETION_METHODS)}")
    is_open = data.get("open", False)
    if not isinstance(is_open, bool):
        faults.add(manifest_path, _line_of(text, "open"), "open must be true or false")
        is_open = False
    if is_open and completion == "attendance":
        faults.add(manifest_path, _line_of(text, "open"), "an open course must be completable online")
    slugs = data.get("modules")
    if not isinstance(slugs, list) or not slugs or not all(isinstance(s, str) and s for s in slugs):
        faults.add(manifest_path, _line_of(text, "modules"), "modules must list the lesson files in order, like [\"01-intro\"]")
        slugs = []
    elif len(set(slugs)) != len(slugs):
        faults.add(manifest_path, _line_of(text, "modules"), "modules lists a lesson twice")
    slugs = tuple(dict.fromkeys(slugs))

    statuses = data.get("translations", {})
    translation_status: dict[str, str] = {}
    if not isinstance(statuses, dict):
        faults.add(manifest_path, _line_of(text, "[translations]"), "[translations] must be a table like ur = \"draft\"")
        statuses = {}
    for language, status in statuses.items():
        if not LANGUAGE.match(language) or language == SOURCE_LANGUAGE:
            faults.add(manifest_path, _line_of(text, f"{language} ="), f"{language} is not a language code for a translation")
        elif status not in TRANSLATION_STATUSES:
            faults.add(manifest_path, _line_of(text, f"{language} ="), f"translation status of {language} must be draft or reviewed")
        else:
            translation_status[language] = status

    course = Course(
        id=course_id, version=version.strip(), path=folder,
        validity_months=_integer(data, "validity_months", 1, 120, manifest_path, text, faults),
        pass_mark=_integer(data, "pass_mark", 1, 100, manifest_path, text, faults),
        questions_per_attempt=_integer(data, "questions_per_attempt", 1, 200, manifest_path, text, faults),
        completion=completion, open=is_open, module_slugs=slugs,
        titles=_language_table(data, "title", manifest_path, text, faults, required=True),
        summaries=_language_table(data, "summary", manifest_path, text, faults, required=False),
        audiences=_language_table(data, "audience", manifest_path, text, faults, required=False),
        outcomes=_language_table(data, "learning_outcomes", manifest_path, text, faults, required=True, kind=list),
        translation_status=translation_status,
    )
    urls = (lambda inside: course_url(course_id, inside)) if course_url else None

    # Lessons, English first, then each translation, which must match an English lesson.
    course.modules[SOURCE_LANGUAGE] = {}
    for slug in slugs:
        path = folder / "modules" / f"{slug}.md"
        if not path.exists():
            faults.add(manifest_path, _line_of(text, slug), f"module {slug} is listed but modules/{slug}.md does not exist")
            continue
        module = _module(path, slug, SOURCE_LANGUAGE, folder, urls, faults)
        if module is not None:
            course.modules[SOURCE_LANGUAGE][slug] = module
    for path in sorted((folder / "modules").glob("*.*.md")):
        slug, language = path.name[:-3].rsplit(".", 1)
        if slug not in slugs:
            faults.add(path, None, f"translates {slug}, which is not a module in course.toml")
            continue
        if language not in translation_status:
            faults.add(path, None, f"is a {language} translation, but course.toml has no {language} under [translations]")
            continue
        module = _module(path, slug, language, folder, urls, faults)
        if module is not None:
            course.modules.setdefault(language, {})[slug] = module

    # The question bank and its translations.
    quiz = folder / "quiz.yaml"
    if not quiz.exists():
        faults.add(quiz, None, "is missing")
    else:
        course.questions[SOURCE_LANGUAGE] = _questions(quiz, faults, source=None, module_slugs=slugs)
        bank_size = len(course.questions[SOURCE_LANGUAGE])
        if bank_size and course.questions_per_attempt > bank_size:
            faults.add(manifest_path, _line_of(text, "questions_per_attempt"),
                       f"questions_per_attempt is {course.questions_per_attempt} but the bank has only {bank_size} questions")
        for language, path in _translation_files(folder, "quiz.*.yaml").items():
            if language not in translation_status:
                faults.add(path, None, f"is a {language} translation, but course.toml has no {language} under [translations]")
                continue
            course.questions[language] = _questions(path, faults, source=course.questions[SOURCE_LANGUAGE], module_slugs=slugs)

    # The deck and its translations, which must have as many slides.
    deck = folder / "slides.md"
    if not deck.exists():
        faults.add(deck, None, "is missing")
    else:
        course.slides[SOURCE_LANGUAGE] = _slides(deck, folder, urls, faults)
        for language, path in _translation_files(folder, "slides.*.md").items():
            if language not in translation_status:
                faults.add(path, None, f"is a {language} translation, but course.toml has no {language} under [translations]")
                continue
            translated = _slides(path, folder, urls, faults, language=language,
                                 source=course.slides[SOURCE_LANGUAGE])
            if translated and len(translated) != len(course.slides[SOURCE_LANGUAGE]):
                faults.add(path, None, f"has {len(translated)} slides; the English deck has {len(course.slides[SOURCE_LANGUAGE])}")
            course.slides[language] = translated

    if faults:
        return None, list(faults)
    course.version = f"{course.version}+{_digest(data, folder, slugs)[:8]}"
    return course, []
