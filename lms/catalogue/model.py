"""What a loaded course is: plain, immutable data, the same for every request."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

# The images a course may carry, with the type each is served or embedded as.
ASSET_TYPES = {".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
               ".gif": "image/gif", ".webp": "image/webp"}

# A link or image address in lesson HTML that may name one of the course's own images.
_ASSET_ADDRESS = re.compile(r'\b(src|href)="(/courses/[^"]+)"')

SOURCE_LANGUAGE = "en"
TRANSLATION_STATUSES = ("draft", "reviewed")
COMPLETION_METHODS = ("online", "attendance", "online_or_attendance")


@dataclass(frozen=True)
class Fault:
    """One problem in a course's files, named by file and line for its author."""

    path: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}" if self.line else f"{self.path}: {self.message}"


@dataclass(frozen=True)
class Module:
    slug: str
    language: str
    title: str
    summary: str
    html: str  # sanitised
    words: int

    @property
    def reading_minutes(self) -> int:
        # About 200 words a minute for careful reading of unfamiliar material.
        return max(1, round(self.words / 200))


@dataclass(frozen=True)
class Option:
    id: str
    text: str
    explanation: str


@dataclass(frozen=True)
class Question:
    id: str
    stem: str
    options: tuple[Option, ...]
    multiple: bool
    module: str | None
    answers: frozenset[str] = frozenset()  # empty in translations: answers come from the source bank

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)


@dataclass(frozen=True)
class Slide:
    title: str
    html: str
    notes_html: str
    # The slide's own language: "en" where a translated deck falls back to the English slide.
    language: str = "en"


@dataclass
class Course:
    id: str
    version: str
    path: Path
    validity_months: int
    pass_mark: int
    questions_per_attempt: int
    completion: str
    # Open to anyone without an account: progress is kept against a reference code.
    open: bool
    module_slugs: tuple[str, ...]
    titles: dict[str, str]
    summaries: dict[str, str]
    audiences: dict[str, str]
    outcomes: dict[str, list[str]]
    translation_status: dict[str, str]
    modules: dict[str, dict[str, Module]] = field(default_factory=dict)      # language -> slug -> module
    questions: dict[str, dict[str, Question]] = field(default_factory=dict)  # language -> id -> question
    slides: dict[str, list[Slide]] = field(default_factory=dict)            # language -> deck

    # -- the text to show in a language, falling back to English ------------------------

    def _pick(self, values: dict, language: str):
        return values.get(language) or values.get(SOURCE_LANGUAGE)

    def title(self, language: str = SOURCE_LANGUAGE) -> str:
        return self._pick(self.titles, language)

    def summary(self, language: str = SOURCE_LANGUAGE) -> str:
        return self._pick(self.summaries, language) or ""

    def audience(self, language: str = SOURCE_LANGUAGE) -> str:
        return self._pick(self.audiences, language) or ""

    def learning_outcomes(self, language: str = SOURCE_LANGUAGE) -> list[str]:
        return self._pick(self.outcomes, language) or []

    def module(self, slug: str, language: str = SOURCE_LANGUAGE) -> tuple[Module, bool]:
        """The lesson in the language, or in English; the flag says it fell back."""
        translated = self.modules.get(language, {}).get(slug)
        if translated is not None:
            return translated, False
        return self.modules[SOURCE_LANGUAGE][slug], language != SOURCE_LANGUAGE

    def question(self, question_id: str, language: str = SOURCE_LANGUAGE) -> Question:
        """The question's text in the language (or English), always with the source answers."""
        source = self.questions[SOURCE_LANGUAGE][question_id]
        translated = self.questions.get(language, {}).get(question_id)
        if translated is None:
            return source
        return Question(id=source.id, stem=translated.stem, options=translated.options, multiple=source.multiple,
                        module=source.module, answers=source.answers)

    def asset_at(self, address: str) -> Path | None:
        """The file an address like /courses/<id>/assets/circle.svg names, when it is one of this
        course's own images; None for anything else (another folder, a query, a missing file)."""
        prefix = f"/courses/{self.id}/assets/"
        path = unquote(urlsplit(address).path)
        if not address.startswith(prefix) or urlsplit(address).query:
            return None
        assets = (self.path / "assets").resolve()
        found = (assets / path.removeprefix(prefix)).resolve()
        if found.is_file() and found.is_relative_to(assets) and found.suffix.lower() in ASSET_TYPES:
            return found
        return None

    def with_assets(self, html: str, address_for: Callable[[Path, str], str]) -> str:
        """The lesson HTML with each address of one of this course's own images replaced by
        address_for(file, its path under assets/), for pages served from elsewhere (a SCORM
        package, a page saved for reading offline); any other address is left as it is."""
        assets = (self.path / "assets").resolve()

        def replace(match: re.Match) -> str:
            found = self.asset_at(match[2])
            if found is None:
                return match[0]
            return f'{match[1]}="{address_for(found, found.relative_to(assets).as_posix())}"'

        return _ASSET_ADDRESS.sub(replace, html)

    def deck(self, language: str = SOURCE_LANGUAGE) -> list[Slide]:
        return self.slides.get(language) or self.slides[SOURCE_LANGUAGE]

    @property
    def languages(self) -> dict[str, str]:
        """Each language the course has, with "source", "draft" or "reviewed"."""
        found = {SOURCE_LANGUAGE: "source"}
        for language, status in sorted(self.translation_status.items()):
            found[language] = status
        return found

    @property
    def question_bank(self) -> dict[str, Question]:
        return self.questions[SOURCE_LANGUAGE]

    @property
    def estimated_minutes(self) -> int:
        return sum(module.reading_minutes for module in self.modules[SOURCE_LANGUAGE].values())
