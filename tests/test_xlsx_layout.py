"""The XLSX export reads well when opened: column widths, a frozen and filterable header row,
and dates stored as dates, while text stays text and never runs as a formula."""
from __future__ import annotations

import csv
import io
import tempfile
import tracemalloc
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from lms.db import utcnow
from lms.models import Completion, Membership
from lms.reports.exports import DATE_FORMAT, xlsx_chunks
from tests.conftest import database
from tests.test_reports import (TINY, add_person, app, client, complete, courses_dir,  # noqa: F401
                                northmoor, require, team)

FORMULA_NAME = "=HYPERLINK(\"http://evil.example\",\"click\")"


def local_day(moment: datetime) -> date:
    return moment.astimezone(ZoneInfo("Europe/London")).date()


@pytest.fixture
def housing(app, demo):  # noqa: F811
    """Housing must do the tiny course; three people completed it, one has a formula for a name."""
    with database(app) as session:
        organisation, team_id = northmoor(demo), team(demo, "Housing")
        require(session, organisation, TINY, 30, team_id=team_id)
        for name, days_ago in (("Amal Haddad", 3), ("Bartek Nowak", 40), (FORMULA_NAME, 100)):
            person = add_person(session, organisation, name, team_id=team_id, joined_days_ago=200)
            complete(session, person, TINY, days_ago=days_ago)
        session.commit()


def export(client, demo, query: str = ""):  # noqa: F811
    client.sign_in("orgadmin@example.org")
    response = client.get(f"/org/{northmoor(demo)}/reports/people.xlsx?team={team(demo, 'Housing')}{query}")
    assert response.status_code == 200
    return load_workbook(io.BytesIO(response.get_data())).active  # normal mode, as a reader would


def test_the_header_is_frozen_filterable_and_every_column_has_a_width(client, demo, housing):
    sheet = export(client, demo)
    header = [cell.value for cell in sheet[1]]
    assert header[:5] == ["Name", "Email address", "Team", "Role", "Joined"]
    assert len(header) == 5 + 4 * 2  # two courses, four columns each
    assert sheet.freeze_panes == "A2"
    last = sheet.cell(row=1, column=len(header)).column_letter
    assert sheet.auto_filter.ref == f"A1:{last}{sheet.max_row}"
    assert sheet.max_row == 1 + 5  # the three above and the demo's Housing learner and champion
    for column in range(1, len(header) + 1):
        letter = sheet.cell(row=1, column=column).column_letter
        assert sheet.column_dimensions[letter].width >= 10, letter
    assert sheet.column_dimensions["A"].width > sheet.column_dimensions["E"].width  # names wider than dates
    assert all(cell.font.bold for cell in sheet[1])


def test_dates_are_real_dates_and_text_stays_text(app, client, demo, housing):
    sheet = export(client, demo, f"&course={TINY}")
    header = [cell.value for cell in sheet[1]]
    date_column = header.index("A tiny test course: date") + 1
    rows = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    with database(app) as session:
        completed = {user_id: completed_at for user_id, completed_at in session.execute(
            select(Membership.user_id, Completion.completed_at).join(Completion, Completion.user_id == Membership.user_id)
            .where(Completion.course_id == TINY)).all()}
        joined = dict(session.execute(select(Membership.user_id, Membership.joined_at)).all())
    assert len(completed) == 3
    for row in rows.values():
        joined_cell, date_cell = row[4], row[date_column - 1]
        assert isinstance(joined_cell.value, datetime) and joined_cell.number_format == DATE_FORMAT
        assert joined_cell.value.date() in {local_day(moment) for moment in joined.values()}
        if date_cell.value is not None:
            assert isinstance(date_cell.value, datetime) and date_cell.number_format == DATE_FORMAT
        for cell in row:
            if cell.column not in (5, date_column) and cell.value is not None:
                assert cell.data_type == "s", (cell.coordinate, cell.value)
    # The date of a completion is the day it was completed, on the service's calendar.
    amal = rows["Amal Haddad"]
    assert amal[date_column - 1].value.date() in {local_day(moment) for moment in completed.values()}
    assert amal[date_column - 2].value == "Completed"
    # A name that looks like a formula is text with an apostrophe, never a formula.
    assert "'" + FORMULA_NAME in rows and rows["'" + FORMULA_NAME][0].data_type == "s"


def test_an_empty_export_keeps_its_layout(client, demo):
    sheet = export(client, demo, "&q=nobody-has-this-name")
    assert sheet.max_row == 1 and sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(row=1, column=sheet.max_column).column_letter}1"


def test_the_csv_still_writes_dates_as_year_month_day(app, client, demo, housing):
    client.sign_in("orgadmin@example.org")
    text = client.get(f"/org/{northmoor(demo)}/reports/people.csv?course={TINY}&q=amal").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text[1:])))
    joined, completed_on = rows[1][4], rows[1][6]
    assert date.fromisoformat(joined) and date.fromisoformat(completed_on)
    assert date.fromisoformat(completed_on) == local_day(utcnow() - timedelta(days=3))


def _rows(count: int, consumed: list[int] | None = None):
    for n in range(count):
        if consumed is not None:
            consumed[0] += 1
        yield ["Person %d" % n, f"p{n}@example.org", "Housing", "Learner", date(2025, 1, 1 + n % 28), "Completed",
               date(2025, 3, 1 + n % 28), "Yes"]


HEADER = ["Name", "Email address", "Team", "Role", "Joined", "C: status", "C: date", "C: required"]


def _peak_kib(count: int) -> int:
    tracemalloc.start()
    try:
        size = 0
        for chunk in xlsx_chunks("Training", HEADER, _rows(count)):
            size += len(chunk)  # nothing kept, as a server sending the chunks keeps nothing
        assert size > 0
        return tracemalloc.get_traced_memory()[1] // 1024
    finally:
        tracemalloc.stop()


def test_the_workbook_is_streamed_in_flat_memory():
    # Ten times the rows, not ten times the memory: rows are compressed and handed on as they come.
    assert _peak_kib(20_000) < 2 * _peak_kib(2_000) + 512


def test_the_first_bytes_leave_before_the_rows_are_read():
    consumed = [0]
    chunks = xlsx_chunks("Training", HEADER, _rows(20_000, consumed), chunk_bytes=16 * 1024)
    received = [next(chunks)]
    assert received[0].startswith(b"PK\x03\x04") and consumed[0] == 0  # the fixed parts need no row
    # Then the sheet comes out in pieces while the rows are still being read, not all at the end.
    while consumed[0] < 20_000:
        received.append(next(chunks))
    assert len(received) >= 4, [len(chunk) for chunk in received]
    received.extend(chunks)
    # Put back together, the pieces are one workbook with every row.
    sheet = load_workbook(io.BytesIO(b"".join(received)), read_only=True).active
    assert sum(1 for _ in sheet.iter_rows(min_row=2)) == 20_000


def test_the_workbook_keeps_its_layout_and_types_when_opened():
    rows = [["  Padded name ", "a&b<c>@example.org", "Team \"Quoted\"", "", date(2024, 2, 29), "Completed",
             datetime(2025, 3, 1, 12, 0), None],
            ["Bell\x07Ringer", "ਗੁਰਪ੍ਰੀਤ ਕੌਰ", "عائشة", "'=1+1", None, "", None, "No"]]
    workbook = load_workbook(io.BytesIO(b"".join(xlsx_chunks("Training: [2025] 'Q1'", HEADER, iter(rows)))))
    sheet = workbook.active
    assert sheet.title == "Training   2025  'Q1'"[:31]
    assert [cell.value for cell in sheet[1]] == HEADER and all(cell.font.bold for cell in sheet[1])
    assert all(cell.alignment.wrap_text for cell in sheet[1])
    first, second = ([cell.value for cell in row] for row in sheet.iter_rows(min_row=2))
    assert first == ["  Padded name ", "a&b<c>@example.org", 'Team "Quoted"', None, datetime(2024, 2, 29),
                     "Completed", datetime(2025, 3, 1, 12, 0), None]
    assert second == ["BellRinger", "ਗੁਰਪ੍ਰੀਤ ਕੌਰ", "عائشة", "'=1+1", None, None, None, "No"]
    assert sheet["E2"].number_format == DATE_FORMAT and sheet["E2"].is_date
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:H3"
    assert [sheet.column_dimensions[letter].width for letter in "ABCDE"] == [30, 34, 24, 20, 13]
