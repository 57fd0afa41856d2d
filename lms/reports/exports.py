"""The people matrix as CSV or XLSX, written a row at a time.

Spreadsheet programs run a cell that starts with =, +, -, @ (or a tab or carriage
return before one) as a formula, so a name such as "=HYPERLINK(...)" could act on the
reader's machine. Such cells get a leading apostrophe: shown, never run. Every value is
text, except dates: those are dates (on the service's calendar), which CSV writes as
YYYY-MM-DD and XLSX stores as real dates, so a spreadsheet sorts and filters them.

Both formats are produced while they are sent, never built whole first: the CSV a few
hundred rows at a time, the XLSX as a ZIP archive whose worksheet is compressed row by row
(see xlsx_chunks), so the first bytes leave at once and memory does not grow with the rows.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timezone
from xml.sax.saxutils import quoteattr

from flask_babel import gettext as _
from flask_babel import to_user_timezone
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from lms.admin.forms import role_choices
from lms.catalogue import Course
from lms.people.scope import Scope
from lms.reports import services
from lms.reports.services import Row
from lms.reports.status import STATUS_LABELS, Filters

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
CSV_BOM = "\ufeff"
DATE_FORMAT = "d mmm yyyy"
# Widths in characters: name, email, team, role, joined; then status, date, how, required per course.
# Headers wrap, so a long course title makes a taller header row, not a wider column.
PERSON_WIDTHS = (30, 34, 24, 20, 13)
COURSE_WIDTHS = (18, 13, 14, 11)

Value = str | date | None
FORMATS = ("csv", "xlsx")


def table(db: Session, scope: Scope, filters: Filters, courses: list[Course], *, sort: str, language: str,
          now: datetime, refresher_days: int) -> tuple[list[str], Iterator[list[Value]]]:
    """The filtered matrix as a header and rows of cells, in the current locale's words; the rows
    are read as they are taken."""
    shown = services.shown_courses(courses, filters)
    labels = {status: str(label) for status, label in STATUS_LABELS.items()}
    roles = {role: str(label) for role, label in role_choices()}
    rows = (values(row, shown, labels, roles) for row in services.stream_rows(
        db, scope, filters, courses, sort=sort, now=now, refresher_days=refresher_days))
    return header(shown, language), rows


def file_chunks(kind: str, title: str, header_row: list[str], rows: Iterable[list[Value]]) -> Iterator[bytes]:
    """The file of that kind (one of FORMATS) as bytes, written while the rows are read."""
    if kind == "csv":
        return (chunk.encode("utf-8") for chunk in csv_chunks(header_row, rows))
    return xlsx_chunks(title, header_row, rows)


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


# --- XLSX, streamed -------------------------------------------------------------------------
#
# An XLSX file is a ZIP archive of XML parts. openpyxl cannot hand out the archive while it
# is being written (it saves it whole at the end), so the parts are written here: the small
# fixed ones first, then the worksheet, compressed as its rows arrive, then the workbook,
# which names the filtered range and so comes after the last row. The standard library's
# zipfile writes to a stream it cannot seek in by putting each part's sizes after its data,
# as every ZIP reader expects. tests/test_xlsx_layout.py opens the result with openpyxl.

XLSX_CHUNK_BYTES = 64 * 1024  # compressed bytes gathered before they are sent on
_ROWS_PER_WRITE = 200
_EXCEL_EPOCH = date(1899, 12, 30)  # day 0 of Excel's (1900) date system, leap-year bug included
# XML 1.0 cannot hold these characters at all, so neither can XLSX: they are dropped rather
# than fail the export.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Cell styles, indexes into cellXfs below: plain, header (bold, wrapped), date.
_HEADER_STYLE, _DATE_STYLE = 1, 2

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

_CONTENT_TYPES = _XML_HEAD + (
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    '<Override PartName="/docProps/app.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
    '</Types>'
)
_ROOT_RELS = _XML_HEAD + (
    f'<Relationships xmlns="{_PACKAGE_REL_NS}">'
    f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
    'core-properties" Target="docProps/core.xml"/>'
    f'<Relationship Id="rId3" Type="{_REL_NS}/extended-properties" Target="docProps/app.xml"/>'
    '</Relationships>'
)
_WORKBOOK_RELS = _XML_HEAD + (
    f'<Relationships xmlns="{_PACKAGE_REL_NS}">'
    f'<Relationship Id="rId1" Type="{_REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL_NS}/styles" Target="styles.xml"/>'
    '</Relationships>'
)
_APP = _XML_HEAD + (
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    '<Application>Prevent LMS</Application></Properties>'
)
_STYLES = _XML_HEAD + (
    f'<styleSheet xmlns="{_MAIN_NS}">'
    f'<numFmts count="1"><numFmt numFmtId="164" formatCode={quoteattr(DATE_FORMAT)}/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    '</fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1">'
    '<alignment vertical="top" wrapText="1"/></xf>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '</cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    '</styleSheet>'
)


class _Sink:
    """Where zipfile writes: it keeps the bytes until they are taken, and cannot seek, so
    zipfile streams (each part's sizes follow its data)."""

    def __init__(self):
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        self.size = 0
        return data


def _text(value: str) -> str:
    """A non-empty, cleaned text as an inline string."""
    escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # Excel trims leading and trailing spaces from a cell unless told to keep them.
    if value[0].isspace() or value[-1].isspace():
        return f'<is><t xml:space="preserve">{escaped}</t></is>'
    return f"<is><t>{escaped}</t></is>"


def _serial(value: date) -> str:
    """A date as Excel stores it: days since its epoch (a datetime adds the fraction of its day)."""
    if isinstance(value, datetime):
        day = value.replace(tzinfo=None) - datetime(1899, 12, 30)
        return repr(day.days + day.seconds / 86400 + day.microseconds / 86_400_000_000)
    return str((value - _EXCEL_EPOCH).days)


def _row(number: int, values: Iterable[Value], letters: list[str], style: int = 0) -> str:
    """One <row>: text as inline strings (text, never a number or a formula), dates as
    numbers shown with the date format; empty cells are left out."""
    text_style = f' s="{style}"' if style else ""
    cells = [f'<row r="{number}">']
    for letter, value in zip(letters, values):
        if isinstance(value, str):
            if not value.isprintable():  # rare, and the check is cheap: only then look closer
                value = _NOT_XML.sub("", value)
            if not value:
                continue
            cells.append(f'<c r="{letter}{number}"{text_style} t="inlineStr">{_text(value)}</c>')
        elif value is not None:
            cells.append(f'<c r="{letter}{number}" s="{_DATE_STYLE}"><v>{_serial(value)}</v></c>')
    cells.append("</row>")
    return "".join(cells)


def _worksheet_head(widths: list[int]) -> str:
    columns = "".join(f'<col min="{index}" max="{index}" width="{width}" customWidth="1"/>'
                      for index, width in enumerate(widths, start=1))
    # The header row is frozen: it stays in view while the rows scroll under it.
    return _XML_HEAD + (
        f'<worksheet xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
        '<sheetViews><sheetView workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
        '</sheetView></sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/>'
        + (f"<cols>{columns}</cols>" if columns else "")
        + "<sheetData>"
    )


def _filter_range(column_count: int, row_count: int) -> str | None:
    return f"A1:{get_column_letter(column_count)}{row_count}" if column_count else None


def _workbook(sheet_title: str, filtered: str | None) -> str:
    names = ""
    if filtered:
        # Excel records the filtered range under this hidden name, and expects to find it.
        start, end = filtered.split(":")
        reference = "'{}'!${}${}:${}${}".format(sheet_title.replace("'", "''"), *_split(start), *_split(end))
        names = (f'<definedNames><definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">'
                 f'{_escape_text(reference)}</definedName></definedNames>')
    return _XML_HEAD + (
        f'<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
        '<workbookPr/>'
        '<bookViews><workbookView activeTab="0"/></bookViews>'
        f'<sheets><sheet name={quoteattr(sheet_title)} sheetId="1" r:id="rId1"/></sheets>'
        f'{names}'
        '<calcPr calcId="191029"/>'
        '</workbook>'
    )


def _split(coordinate: str) -> tuple[str, str]:
    letters = coordinate.rstrip("0123456789")
    return letters, coordinate[len(letters):]


def _escape_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _core(created: datetime) -> str:
    stamp = created.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return _XML_HEAD + (
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        '<dc:creator>Prevent LMS</dc:creator>'
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
        '</cp:coreProperties>'
    )


def xlsx_chunks(title: str, header_row: list[str], rows: Iterable[list[Value]], *,
                chunk_bytes: int = XLSX_CHUNK_BYTES) -> Iterator[bytes]:
    """The workbook as bytes, in pieces of about chunk_bytes, while rows are still being read.
    Text is stored as text (a neutralised str: never a number or a formula), and dates as dates
    shown like 5 Mar 2025. The header row is bold, frozen and filterable, the columns sized.

    The fixed parts come first, before any row is read, so a download starts at once however
    long the rows take. The sheet may hold up to 2 GiB of XML (some two million people with
    three courses; Excel shows at most 1,048,576 rows anyway): zipfile refuses more, as the
    sizes of a larger part would need ZIP64 headers, which not every reader takes."""
    sheet_title = _sheet_title(title)
    letters = [get_column_letter(index) for index in range(1, len(header_row) + 1)]
    sink = _Sink()
    # The fastest compression: the sheet's XML still shrinks about tenfold, for a quarter of the
    # processor time the default level takes.
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, xml in (("[Content_Types].xml", _CONTENT_TYPES), ("_rels/.rels", _ROOT_RELS),
                          ("docProps/app.xml", _APP), ("docProps/core.xml", _core(datetime.now(timezone.utc))),
                          ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS), ("xl/styles.xml", _STYLES)):
            archive.writestr(name, xml)
        yield sink.take()
        count = 0
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write((_worksheet_head(column_widths(len(header_row)))
                         + _row(1, [neutralise(value) for value in header_row], letters, _HEADER_STYLE)).encode())
            batch: list[str] = []
            for count, row in enumerate(rows, start=1):
                batch.append(_row(count + 1, row, letters))
                if len(batch) == _ROWS_PER_WRITE:
                    sheet.write("".join(batch).encode())
                    batch.clear()
                    if sink.size >= chunk_bytes:
                        yield sink.take()
            filtered = _filter_range(len(header_row), count + 1)
            sheet.write(("".join(batch) + "</sheetData>"
                         + (f'<autoFilter ref="{filtered}"/>' if filtered else "")
                         + '<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>'
                         + "</worksheet>").encode())
        archive.writestr("xl/workbook.xml", _workbook(sheet_title, filtered))
    yield sink.take()


def _sheet_title(title: str) -> str:
    # Excel refuses these characters in a sheet name, and names over 31 characters.
    cleaned = "".join(" " if ch in '[]:*?/\\' else ch for ch in title).strip()
    return cleaned[:31] or "Report"
