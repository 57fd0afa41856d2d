"""The people matrix as CSV or XLSX, written a row at a time.

Spreadsheet programs run a cell that starts with =, +, -, @ (or a tab or carriage
return before one) as a formula, so a name such as "=HYPERLINK(...)" could act on the
reader's machine. Such cells get a leading apostrophe: shown, never run.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from lms.catalogue import Course
from lms.reports.services import Row

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
CSV_BOM = "\ufeff"


def neutralise(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


def header(courses: list[Course], language: str) -> list[str]:
    columns = [_("Name"), _("Email address"), _("Team"), _("Role"), _("Joined")]
    for course in courses:
        title = course.title(language)
        columns += [_("%(course)s: status", course=title), _("%(course)s: date", course=title),
                    _("%(course)s: required", course=title)]
    return columns


def values(row: Row, courses: list[Course], status_labels: dict[str, str], role_labels: dict[str, str]) -> list[str]:
    """One person's cells as text: dates as YYYY-MM-DD, which every spreadsheet reads."""
    person = row.person
    cells = [person.name, person.email, person.team, role_labels.get(person.role, person.role),
             person.joined_at.date().isoformat()]
    yes, no = _("Yes"), _("No")
    for course in courses:
        cell = row.cells.get(course.id)
        if cell is None:
            cells += ["", "", ""]
            continue
        cells += [status_labels[cell.status], cell.date.date().isoformat() if cell.date else "",
                  yes if cell.required else no]
    return [neutralise(value) for value in cells]


def csv_chunks(header_row: list[str], rows: Iterable[list[str]], rows_per_chunk: int = 500) -> Iterator[str]:
    """The CSV as text in chunks, starting with a byte-order mark so Excel reads UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(CSV_BOM)
    writer.writerow([neutralise(value) for value in header_row])
    for number, row in enumerate(rows, start=1):
        writer.writerow(row)
        if number % rows_per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def write_xlsx(path, title: str, header_row: list[str], rows: Iterable[list[str]]) -> int:
    """Write the workbook in openpyxl's write-only mode, which keeps rows on disk, not in memory.
    Every value is a neutralised str, which openpyxl stores as text: never a number, a date or
    a formula. Returns the row count."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_sheet_title(title))
    sheet.append([_storable(neutralise(value)) for value in header_row])
    count = 0
    for row in rows:
        sheet.append([_storable(value) for value in row])
        count += 1
    workbook.save(path)
    return count


def _storable(value: str) -> str:
    # XLSX cannot hold most control characters at all; they are dropped rather than fail the export.
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def _sheet_title(title: str) -> str:
    # Excel refuses these characters in a sheet name, and names over 31 characters.
    cleaned = "".join(" " if ch in '[]:*?/\\' else ch for ch in title).strip()
    return cleaned[:31] or "Report"
