"""How far each language has got: the interface catalogues, each course's translations,
and which translations a person who reads the language has reviewed."""
from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from lms.catalogue import SOURCE_LANGUAGE, Catalogue, Course
from lms.db import utcnow
from lms.errors import OutOfScope
from lms.models import TranslationReview, User

DRAFT = "draft"
REVIEWED = "reviewed"


def reviews(db: Session, course_ids: list[str]) -> dict[tuple[str, str], TranslationReview]:
    found = db.scalars(select(TranslationReview).where(TranslationReview.course_id.in_(course_ids)))
    return {(review.course_id, review.language): review for review in found}


def statuses(db: Session, course: Course) -> dict[str, str]:
    """The course's languages with "source", "draft" or "reviewed", counting reviews made here."""
    reviewed = {language for (_course, language) in reviews(db, [course.id])}
    return {language: REVIEWED if language in reviewed else status for language, status in course.languages.items()}


# Built once: every lesson and quiz page in a draft translation asks it.
_REVIEWED_HERE = select(TranslationReview.id).where(
    TranslationReview.course_id == bindparam("course_id"), TranslationReview.language == bindparam("language")).limit(1)


def language_status(db: Session, course: Course, language: str) -> str:
    """statuses(db, course)[language] for one language, for the learner's pages. Only a draft can
    be changed by a review made here (the source is never reviewed: mark_reviewed refuses it), so
    the source and reviewed translations, which most learners read, need no query."""
    status = course.languages[language]
    if status != DRAFT:
        return status
    found = db.scalar(_REVIEWED_HERE, {"course_id": course.id, "language": language})
    return REVIEWED if found is not None else DRAFT


def mark_reviewed(db: Session, course: Course, language: str, reviewer: User) -> TranslationReview:
    if language == SOURCE_LANGUAGE or language not in course.languages:
        raise OutOfScope()
    review = db.scalars(select(TranslationReview).where(
        TranslationReview.course_id == course.id, TranslationReview.language == language)).first()
    if review is None:
        review = TranslationReview(course_id=course.id, language=language)
        db.add(review)
    review.reviewed_by_id = reviewer.id
    review.reviewed_at = utcnow()
    db.flush()
    return review


def interface_completeness(translations_dir: Path) -> dict[str, dict]:
    """For each UI catalogue: how many of its messages are translated."""
    found = {}
    for po in sorted(translations_dir.glob("*/LC_MESSAGES/messages.po")):
        with po.open("rb") as source:
            catalogue = read_po(source)
        messages = [m for m in catalogue if m.id]
        done = sum(1 for m in messages if m.string and (all(m.string) if isinstance(m.string, tuple) else True) and not m.fuzzy)
        found[po.parent.parent.name] = {"translated": done, "total": len(messages),
                                        "share": round(done / len(messages), 3) if messages else 0.0}
    return found


def course_completeness(course: Course, language: str, status: str) -> dict:
    def share(done: int, total: int) -> float:
        return round(done / total, 3) if total else 0.0

    return {
        "status": status,
        "modules": share(len(course.modules.get(language, {})), len(course.module_slugs)),
        "questions": share(len(course.questions.get(language, {})), len(course.question_bank)),
        "slides": share(len(course.slides.get(language, [])), len(course.deck())),
    }


def status_report(db: Session | None, catalogue: Catalogue, translations_dir: Path) -> dict[str, dict]:
    interface = interface_completeness(translations_dir)
    courses = catalogue.all()
    languages = set(interface)
    for course in courses:
        languages |= set(course.languages) - {SOURCE_LANGUAGE}
    review_map = reviews(db, [c.id for c in courses]) if db is not None else {}
    report = {}
    for language in sorted(languages):
        entry = {"interface": interface.get(language, {"translated": 0, "total": 0, "share": 0.0}), "courses": {}}
        for course in courses:
            status = course.languages.get(language)
            if (course.id, language) in review_map:
                status = REVIEWED
            entry["courses"][course.id] = course_completeness(course, language, status or "none")
        report[language] = entry
    return report
