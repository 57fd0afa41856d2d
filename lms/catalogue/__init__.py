"""The course-plugin contract: discovery, manifest, loader and validator.

See courses/README.md for the format. Nothing here names a particular course."""
from lms.catalogue.discovery import Catalogue, discover
from lms.catalogue.loader import load_course
from lms.catalogue.model import SOURCE_LANGUAGE, Course, Fault, Module, Option, Question, Slide

__all__ = ["Catalogue", "Course", "Fault", "Module", "Option", "Question", "SOURCE_LANGUAGE", "Slide", "discover", "load_course"]
