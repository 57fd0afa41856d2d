"""SCORM 1.2 packages of a course, for organisations whose own LMS (Moodle, Totara, ESR) plays
them: the lessons and the quiz in one SCO that reports cmi.core.lesson_status and
cmi.core.score to the LMS that launched it.

The quiz is scored inside the package, so its answers travel in it: anyone who opens the ZIP
can read them. That is the nature of SCORM 1.2 (the LMS only stores what the SCO reports),
and the organisation's own LMS is where its records live. Each attempt draws its questions at
random from the whole bank and shuffles the options, as the quiz here does.

A package lists every file with its SHA-256 in lms-package.json, so `check_package` can tell a
package changed or cut short after export (file and line, never a traceback).
"""
from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from flask import render_template
from flask_babel import force_locale

from lms.catalogue import SOURCE_LANGUAGE, Course, Fault
from lms.i18n import is_rtl

STATIC = Path(__file__).parent / "scorm_runtime"
RUNTIME_FILES = ("sco.js", "sco.css")
LIST_NAME = "lms-package.json"
MANIFEST_NAME = "imsmanifest.xml"
IMSCP = "http://www.imsproject.org/xsd/imscp_rootv1p1p2"
ADLCP = "http://www.adlnet.org/xsd/adlcp_rootv1p2"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


@dataclass(frozen=True)
class Package:
    filename: str
    data: bytes


def package_name(course: Course, language: str) -> str:
    return f"{course.id}-{course.version}-{language}-scorm12.zip"


def _quiz(course: Course, language: str) -> dict:
    questions = []
    for question_id in sorted(course.question_bank):
        question = course.question(question_id, language)
        questions.append({
            "id": question.id, "stem": question.stem, "multiple": question.multiple,
            "answers": sorted(question.answers),
            "options": [{"id": option.id, "text": option.text, "explanation": option.explanation}
                        for option in question.options],
        })
    return {"course": course.id, "version": course.version, "language": language, "pass_mark": course.pass_mark,
            "per_attempt": course.questions_per_attempt, "questions": questions}


def _assets(course: Course, html: str) -> tuple[str, dict[str, bytes]]:
    """The lesson's own images, to ship beside it, with its links made relative to the package."""
    found: dict[str, bytes] = {}

    def beside(path: Path, name: str) -> str:
        found[f"assets/{name}"] = path.read_bytes()
        return f"assets/{name}"

    return course.with_assets(html, beside), found


def build(course: Course, language: str) -> Package:
    """The package in one language (English where a lesson is not translated). Needs an app
    context: the words around the lessons come from the interface catalogues."""
    language = language if language in course.languages else SOURCE_LANGUAGE
    files: dict[str, bytes] = {}
    lessons = []
    for slug in course.module_slugs:
        module, fell_back = course.module(slug, language)
        html, assets = _assets(course, module.html)
        files.update(assets)
        lessons.append({"slug": slug, "title": module.title, "html": html, "fell_back": fell_back,
                        "language": SOURCE_LANGUAGE if fell_back else language})
    with force_locale(language):
        page = render_template("interop/scorm_sco.html", course=course, language=language, lessons=lessons,
                               rtl=is_rtl(language), status=course.languages.get(language),
                               quiz=json.dumps(_quiz(course, language), ensure_ascii=False).replace("</", "<\\/"))
    files["index.html"] = page.encode()
    for name in RUNTIME_FILES:
        files[name] = (STATIC / name).read_bytes()
    files[MANIFEST_NAME] = _manifest(course, language, sorted(files))
    listed = {"course": course.id, "version": course.version, "language": language,
              "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())}}
    files[LIST_NAME] = json.dumps(listed, indent=2).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        # The manifest first: some LMSs look for it at the start of the archive.
        for name in [MANIFEST_NAME] + sorted(set(files) - {MANIFEST_NAME}):
            archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), files[name],
                             compress_type=zipfile.ZIP_DEFLATED)
    return Package(package_name(course, language), out.getvalue())


def _manifest(course: Course, language: str, names: list[str]) -> bytes:
    ElementTree.register_namespace("", IMSCP)
    ElementTree.register_namespace("adlcp", ADLCP)
    ElementTree.register_namespace("xsi", XSI)
    root = ElementTree.Element(f"{{{IMSCP}}}manifest", {
        "identifier": f"prevent-lms-{course.id}-{language}", "version": course.version,
        f"{{{XSI}}}schemaLocation": (f"{IMSCP} imscp_rootv1p1p2.xsd "
                                     "http://www.imsglobal.org/xsd/imsmd_rootv1p2p1 imsmd_rootv1p2p1.xsd "
                                     f"{ADLCP} adlcp_rootv1p2.xsd")})
    metadata = ElementTree.SubElement(root, f"{{{IMSCP}}}metadata")
    ElementTree.SubElement(metadata, f"{{{IMSCP}}}schema").text = "ADL SCORM"
    ElementTree.SubElement(metadata, f"{{{IMSCP}}}schemaversion").text = "1.2"
    organizations = ElementTree.SubElement(root, f"{{{IMSCP}}}organizations", {"default": "course"})
    organization = ElementTree.SubElement(organizations, f"{{{IMSCP}}}organization", {"identifier": "course"})
    ElementTree.SubElement(organization, f"{{{IMSCP}}}title").text = course.title(language)
    item = ElementTree.SubElement(organization, f"{{{IMSCP}}}item",
                                  {"identifier": "item", "identifierref": "sco", "isvisible": "true"})
    ElementTree.SubElement(item, f"{{{IMSCP}}}title").text = course.title(language)
    ElementTree.SubElement(item, f"{{{ADLCP}}}masteryscore").text = str(course.pass_mark)
    resources = ElementTree.SubElement(root, f"{{{IMSCP}}}resources")
    resource = ElementTree.SubElement(resources, f"{{{IMSCP}}}resource", {
        "identifier": "sco", "type": "webcontent", f"{{{ADLCP}}}scormtype": "sco", "href": "index.html"})
    for name in names:
        ElementTree.SubElement(resource, f"{{{IMSCP}}}file", {"href": name})
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)


# --- checking a package ------------------------------------------------------------------------

def check_package(path: Path) -> list[Fault]:
    """What is wrong with a package on disk, each fault naming the file (inside the package,
    after the ZIP's own name) and, for the manifest, the line."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        return [Fault(path, None, f"not a readable ZIP file ({error})")]
    with archive:
        names = set(archive.namelist())
        faults: list[Fault] = []
        if MANIFEST_NAME not in names:
            return [Fault(path / MANIFEST_NAME, None, "missing: every SCORM package has an imsmanifest.xml at its root")]
        try:
            manifest = ElementTree.fromstring(archive.read(MANIFEST_NAME))
        except ElementTree.ParseError as error:
            return [Fault(path / MANIFEST_NAME, error.position[0], f"not well-formed XML: {error}")]
        except zipfile.BadZipFile as error:
            return [Fault(path / MANIFEST_NAME, None, f"cannot be read: {error}")]
        faults += _manifest_faults(path, manifest, names)
        faults += _listed_faults(path, archive, names)
        return faults


def _manifest_faults(path: Path, manifest: ElementTree.Element, names: set[str]) -> list[Fault]:
    faults = []
    at = path / MANIFEST_NAME
    if manifest.tag != f"{{{IMSCP}}}manifest":
        faults.append(Fault(at, None, f"the root element is {manifest.tag}, not an IMS content package manifest"))
    version = manifest.findtext(f"{{{IMSCP}}}metadata/{{{IMSCP}}}schemaversion")
    if version != "1.2":
        faults.append(Fault(at, None, f"schemaversion is {version!r}, not '1.2'"))
    scos = [resource for resource in manifest.iter(f"{{{IMSCP}}}resource")
            if resource.get(f"{{{ADLCP}}}scormtype") == "sco"]
    if not scos:
        faults.append(Fault(at, None, "no resource has adlcp:scormtype=\"sco\""))
    for resource in scos:
        for href in [resource.get("href")] + [file.get("href") for file in resource.iter(f"{{{IMSCP}}}file")]:
            if href and href not in names:
                faults.append(Fault(path / href, None, "named in imsmanifest.xml but missing from the package"))
    return faults


def _listed_faults(path: Path, archive: zipfile.ZipFile, names: set[str]) -> list[Fault]:
    if LIST_NAME not in names:
        return [Fault(path / LIST_NAME, None, "missing: this is not a package exported by Prevent LMS, or it was cut")]
    try:
        listed = json.loads(archive.read(LIST_NAME))["files"]
    except (ValueError, KeyError, TypeError) as error:
        return [Fault(path / LIST_NAME, None, f"not the list of files this package was built with ({error})")]
    faults = []
    for name, digest in sorted(listed.items()):
        if name not in names:
            faults.append(Fault(path / name, None, "missing: the package is incomplete"))
            continue
        try:
            data = archive.read(name)
        except (zipfile.BadZipFile, OSError) as error:  # a damaged member fails its CRC
            faults.append(Fault(path / name, None, f"cannot be read: {error}"))
            continue
        if hashlib.sha256(data).hexdigest() != digest:
            faults.append(Fault(path / name, None, "changed since the package was exported"))
    for name in sorted(names - set(listed) - {LIST_NAME}):
        faults.append(Fault(path / name, None, "added since the package was exported"))
    return faults
