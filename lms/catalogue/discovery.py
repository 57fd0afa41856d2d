"""Finding courses: folders under LMS_COURSE_PATHS, and installed packages that expose
a course folder through the entry-point group `lms.courses`."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

from lms.catalogue.loader import load_course
from lms.catalogue.model import Course, Fault

ENTRY_POINT_GROUP = "lms.courses"
log = logging.getLogger(__name__)


def course_folders(paths: list[Path]) -> list[Path]:
    """A path is a course (it has course.toml) or a folder of courses."""
    found = []
    for path in paths:
        if (path / "course.toml").exists():
            found.append(path)
        elif path.is_dir():
            found.extend(sorted(child for child in path.iterdir() if child.is_dir() and _looks_like_course(child)))
    return found


def _looks_like_course(folder: Path) -> bool:
    return any((folder / name).exists() for name in ("course.toml", "quiz.yaml", "slides.md", "modules"))


def entry_point_folders() -> list[tuple[str, Path | None, str | None]]:
    """(entry point name, folder, problem) for each installed course package."""
    found = []
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            target = entry_point.load()
            if callable(target) and not isinstance(target, ModuleType):
                target = target()
            if isinstance(target, ModuleType):
                target = Path(target.__file__).parent
            found.append((entry_point.name, Path(target), None))
        except Exception as error:  # a broken package must not stop the others loading
            found.append((entry_point.name, None, f"entry point {entry_point.value} could not be loaded: {error}"))
    return found


@dataclass
class Catalogue:
    courses: dict[str, Course] = field(default_factory=dict)
    broken: dict[str, list[Fault]] = field(default_factory=dict)  # folder -> its faults

    def get(self, course_id: str) -> Course | None:
        return self.courses.get(course_id)

    def all(self) -> list[Course]:
        return sorted(self.courses.values(), key=lambda course: course.title())

    def add_folder(self, folder: Path, course_url=None) -> None:
        course, faults = load_course(folder, course_url)
        if course is not None and course.id in self.courses and self.courses[course.id].path != course.path:
            faults = [Fault(folder / "course.toml", None, f"id {course.id} is already used by {self.courses[course.id].path}")]
            course = None
        if course is None:
            self.broken[str(folder)] = faults
            log.error("Course in %s is not offered: %s", folder, "; ".join(str(f) for f in faults))
            return
        self.courses[course.id] = course


def discover(paths: list[Path], *, include_installed: bool = True, course_url=None) -> Catalogue:
    catalogue = Catalogue()
    for folder in course_folders(paths):
        catalogue.add_folder(folder, course_url)
    if include_installed:
        for name, folder, problem in entry_point_folders():
            if problem:
                catalogue.broken[f"entry point {name}"] = [Fault(Path(name), None, problem)]
                log.error("Course package %s is not offered: %s", name, problem)
            else:
                catalogue.add_folder(folder, course_url)
    return catalogue
