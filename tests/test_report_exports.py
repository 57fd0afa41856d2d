"""CSV and XLSX exports of the people matrix: formula neutralisation and round trips."""
from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from lms.reports.exports import CSV_BOM, neutralise
from tests.conftest import database
from tests.test_reports import (TINY, add_person, app, client, complete, courses_dir, northmoor,  # noqa: F401
                                require, team)

TRICKY_NAMES = [
    "=HYPERLINK(\"http://evil.example\",\"click\")",
    "+44 20 7946 0000",
    "-1+1",
    "@SUM(A1:A2)",
    "\tTabbed",
    "\rReturned",
    "Smith, Jane",
    'Jane "JJ" Smith',
    "Line one\nLine two",
    "عائشة بنت محمد",
    "نور، الهدى \"ن\"",
    "אבי כהן",
    "Zofia Wiśniewska",
    "ਗੁਰਪ੍ਰੀਤ ਕੌਰ",
    "রাবেয়া খাতুন",
]


def test_neutralise_puts_an_apostrophe_before_formula_triggers():
    for trigger in "=+-@\t\r":
        assert neutralise(trigger + "x") == "'" + trigger + "x"
    for safe in ("Jane", "", "1=1", " =x", "'=already", "O'Brien"):
        assert neutralise(safe) == safe


@given(st.text())
def test_neutralised_text_never_starts_a_formula(value):
    result = neutralise(value)
    assert not result.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert result in (value, "'" + value)


@pytest.fixture
def tricky(app, demo):  # noqa: F811
    with database(app) as session:
        organisation, housing = northmoor(demo), team(demo, "Housing")
        require(session, organisation, TINY, 30, team_id=housing)
        for name in TRICKY_NAMES:
            person = add_person(session, organisation, name, team_id=housing)
            complete(session, person, TINY, days_ago=3)
        session.commit()


def expected(name: str) -> str:
    return "'" + name if name[0] in "=+-@\t\r" else name


def test_csv_round_trip_keeps_every_name_and_runs_no_formula(client, demo, tricky):  # noqa: F811
    client.sign_in("orgadmin@example.org")
    response = client.get(f"/org/{northmoor(demo)}/reports/people.csv?team={team(demo, 'Housing')}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith(CSV_BOM.encode("utf-8"))
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8")[1:], newline="")))
    header, body = rows[0], rows[1:]
    assert header[:5] == ["Name", "Email address", "Team", "Role", "Joined"]
    names = [row[0] for row in body]
    for name in TRICKY_NAMES:
        assert expected(name) in names, name
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in body for cell in row)
    tiny = header.index("A tiny test course: status")
    row = body[names.index("'=HYPERLINK(\"http://evil.example\",\"click\")")]
    assert row[tiny] == "Completed" and row[tiny + 2] == "Online" and row[tiny + 3] == "Yes"


def test_xlsx_round_trip_keeps_every_name_as_text(client, demo, tricky):  # noqa: F811
    client.sign_in("orgadmin@example.org")
    response = client.get(f"/org/{northmoor(demo)}/reports/people.xlsx?team={team(demo, 'Housing')}")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.get_data()))
    sheet = workbook.active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0][:5] == ["Name", "Email address", "Team", "Role", "Joined"]
    names = [row[0] for row in rows[1:]]
    for name in TRICKY_NAMES:
        # XML reads a carriage return as a line feed, so XLSX cannot keep a bare \r.
        assert expected(name).replace("\r", "\n") in names, name
    # Every cell is stored as text, no formula or number for a spreadsheet to act on, except
    # the dates, which are real dates so that they sort and filter as dates.
    date_columns = {index for index, title in enumerate(rows[0]) if title == "Joined" or title.endswith(": date")}
    for row in sheet.iter_rows(min_row=2):
        for index, cell in enumerate(row):
            if index in date_columns and cell.value is not None:
                assert cell.is_date and cell.number_format == "d mmm yyyy", (cell.coordinate, cell.value)
            elif cell.value is not None:
                assert cell.data_type in ("s", "inlineStr"), (cell.coordinate, cell.value)


def test_exports_follow_the_filters(client, demo, tricky):  # noqa: F811
    client.sign_in("orgadmin@example.org")
    organisation = northmoor(demo)
    text = client.get(f"/org/{organisation}/reports/people.csv?course={TINY}&status=not_started").get_data(as_text=True)
    assert "Smith, Jane" not in text and "Lena Kowalska" in text
    header = next(csv.reader(io.StringIO(text[1:])))
    assert header[5:] == ["A tiny test course: status", "A tiny test course: date", "A tiny test course: how completed",
                          "A tiny test course: required"]
    searched = client.get(f"/org/{organisation}/reports/people.xlsx?q=wiśniewska").get_data()
    names = [row[0].value for row in load_workbook(io.BytesIO(searched)).active.iter_rows(min_row=2)]
    assert names == ["Zofia Wiśniewska"]


def test_an_empty_export_still_has_its_header(client, demo):
    client.sign_in("orgadmin@example.org")
    text = client.get(f"/org/{northmoor(demo)}/reports/people.csv?q=nobody-has-this-name").get_data(as_text=True)
    assert text.startswith(CSV_BOM + "Name,") and text.count("\r\n") == 1


def test_a_control_character_in_a_name_does_not_break_the_xlsx(app, client, demo):  # noqa: F811
    with database(app) as session:
        add_person(session, northmoor(demo), "Bell\x07Ringer")
        session.commit()
    client.sign_in("orgadmin@example.org")
    response = client.get(f"/org/{northmoor(demo)}/reports/people.xlsx?q=ringer")
    assert response.status_code == 200
    names = [row[0].value for row in load_workbook(io.BytesIO(response.get_data())).active.iter_rows(min_row=2)]
    assert names == ["BellRinger"]  # XLSX cannot hold the bell character at all
