"""The people matrix as CSV or XLSX, written a row at a time.

Spreadsheet programs run a cell that starts with =, +, -, @ (or a tab or carriage
return before one) as a formula, so a name such as "=HYPERLINK(...)" could act on the
reader's machine. Such cells get a leading apostrophe: shown, never run. Every value is
text, except dates: those are dates (on the service's calendar), which CSV writes as
YYYY-MM-DD and XLSX stores as real dates, so a spreadsheet sorts and filters them.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date, datetime

from flask_babel import gettext as _
from flask_babel import to_user_timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from lms.catalogue import Course
from lms.reports.services import Row

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
CSV_BOM = "\ufeff"
DATE_FORMAT = "d mmm yyyy"
# Widths in characters: name, email, team, role, joined; then status, date, how, required per course.
# Headers wrap, so a long course title makes a taller header row, not a wider column.
PERSON_WIDTHS = (30, 34, 24, 20, 13)
COURSE_WIDTHS = (18, 13, 14, 11)

Value = str | date | None


def neutralise(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


def header(courses: list[Course], language: str) -> list[str]:
    columns = [_("Name"), _("Email address"), _("Team"), _("Role"), _("Joined")]
    for course in courses:
        title = course.title(language)
        columns += [_("%(course)s: status", course=title), _("%(course)s: date", course=title),
                    _("%(course)s: how completed", course=title), _("%(course)s: required", course=title)]
    return columns


def _local_date(moment: datetime | None) -> date | None:
    """The calendar day in the service's time zone, as the pages show it."""
    return to_user_timezone(moment).date() if moment is not None else None


def values(row: Row, courses: list[Course], status_labels: dict[str, str], role_labels: dict[str, str]) -> list[Value]:
    """One person's cells: neutralised text, and dates as dates (None when there is none)."""
    person = row.person
    cells: list[Value] = [person.name, person.email, person.team, role_labels.get(person.role, person.role),
                          _local_date(person.joined_at)]
    yes, no = _("Yes"), _("No")
    online, at_session = _("Online"), _("At a session")
    for course in courses:
        cell = row.cells.get(course.id)
        if cell is None:
            cells += ["", None, "", ""]
            continue
        how = "" if cell.completed_at is None else (at_session if cell.at_session else online)
        cells += [status_labels[cell.status], _local_date(cell.date), how, yes if cell.required else no]
    return [neutralise(value) if isinstance(value, str) else value for value in cells]


def csv_chunks(header_row: list[str], rows: Iterable[list[Value]], rows_per_chunk: int = 500) -> Iterator[str]:
    """The CSV as text in chunks, starting with a byte-order mark so Excel reads UTF-8.
    Dates are written as YYYY-MM-DD, which every spreadsheet reads; None as nothing."""
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


def column_widths(count: int) -> list[int]:
    """The width of each of a sheet's columns, laid out as values() lays out a row."""
    return [PERSON_WIDTHS[index] if index < len(PERSON_WIDTHS)
            else COURSE_WIDTHS[(index - len(PERSON_WIDTHS)) % len(COURSE_WIDTHS)] for index in range(count)]


def write_xlsx(path, title: str, header_row: list[str], rows: Iterable[list[Value]]) -> int:
    """Write the workbook in openpyxl's write-only mode, which keeps rows on disk, not in memory.
    Text is stored as text (a neutralised str: never a number or a formula), and dates as dates
    shown like 5 Mar 2025. The header row is bold, frozen and filterable. Returns the row count."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_sheet_title(title))
    # Write-only mode writes the columns and panes at the top of the sheet: set them before any row.
    for index, width in enumerate(column_widths(len(header_row)), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    bold, wrapped = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    sheet.append([_header_cell(sheet, _storable(neutralise(value)), bold, wrapped) for value in header_row])
    count = 0
    for row in rows:
        sheet.append([_date_cell(sheet, value) if isinstance(value, date) else _storable(value) for value in row])
        count += 1
    # The filter is written after the rows, so it can cover exactly as many as there were.
    if header_row:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(header_row))}{count + 1}"
    workbook.save(path)
    return count


def _header_cell(sheet, value: str, font: Font, alignment: Alignment) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    cell.font, cell.alignment = font, alignment
    return cell


def _date_cell(sheet, value: date) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    cell.number_format = DATE_FORMAT
    return cell


def _storable(value: str | None) -> str | None:
    # XLSX cannot hold most control characters at all; they are dropped rather than fail the export.
    return ILLEGAL_CHARACTERS_RE.sub("", value) if value is not None else None


def _sheet_title(title: str) -> str:
    # Excel refuses these characters in a sheet name, and names over 31 characters.
    cleaned = "".join(" " if ch in '[]:*?/\\' else ch for ch in title).strip()
    return cleaned[:31] or "Report"
