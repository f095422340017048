"""The working-day calendar reaches a year ahead or says so (issue #17): dates past
its end are not silently ordinary working days (the fixed statutory days off stay
off, deadlines there are flagged as estimates), ``/readyz`` and the console's
coverage endpoint warn, and an admin's new year clears the warning."""

from __future__ import annotations

import datetime as dt

import pytest

from server.support import DAY_MS, Device, World, error_of
from shared_schema.calendar import (
    CalendarData,
    CalendarYear,
    WorkCalendar,
    case_deadlines,
    coverage,
    packaged,
)
from sync_server.domain.calendar import service as cal_service

D = dt.date.fromisoformat
LOCAL = dt.timezone(dt.timedelta(hours=8))


def ms(day: str) -> int:
    return int(dt.datetime.fromisoformat(day + " 10:00").replace(tzinfo=LOCAL).timestamp() * 1000)


@pytest.mark.parametrize("day,workday", [
    ("2027-01-01", False),  # 元旦: off by law every year, notice or none
    ("2027-05-03", True),  # an ordinary Monday: unknown until the 2027 notice, counted as a weekday
    ("2027-10-01", False), ("2027-10-02", False), ("2027-10-04", True),
    ("2027-01-02", False),  # a Saturday
])
def test_days_after_the_calendar(day: str, workday: bool) -> None:
    cal = packaged()
    assert not cal.covers(D(day))
    assert cal.is_workday(D(day)) is workday


def test_coverage_needs_a_year_ahead() -> None:
    cal = packaged()
    assert coverage(cal, D("2025-11-26")).covered  # 2026 is in the file
    short = coverage(cal, D("2026-12-03"))
    assert not short.covered and short.missing_years == [2027]
    assert short.last_day == "2026-12-31" and short.needed_until == "2027-12-03"
    assert not coverage(WorkCalendar.from_data(CalendarData(years={})), D("2026-01-01")).covered


def test_deadlines_past_the_end_are_flagged_as_estimates() -> None:
    cal = packaged()
    late = case_deadlines(cal, {"status": "registered", "received_at": ms("2026-12-28")},
                          ms("2026-12-28"))
    assert late.accept_due is not None and late.accept_due > "2027-01-01"
    assert late.beyond_calendar
    # 5 working days from Mon 28 Dec: 29, 30, 31 Dec, (1 Jan off by law), 4, 5 Jan
    assert late.accept_due == "2027-01-05"
    early = case_deadlines(cal, {"status": "registered", "received_at": ms("2025-11-26")},
                           ms("2025-11-26"))
    assert not early.beyond_calendar


def test_readyz_and_the_console_warn_then_clear_when_the_year_is_added(world: World) -> None:
    r = world.http.get("/readyz")
    assert r.status_code == 200 and r.json()["calendar"] == "covered until 2026-12-31"
    world.clock.advance(372 * DAY_MS)  # 2026-12-03
    office, admin = world.login("office1", "office-pc"), world.login("admin", "admin-pc")
    r = world.http.get("/readyz")
    assert r.status_code == 200, r.text  # a warning, not unreadiness
    assert r.json()["calendar"].startswith("warning:") and "2027" in r.json()["calendar"]
    c = world.http.get("/api/v1/office/calendar/coverage", headers=office).json()
    assert c == {"covered": False, "last_day": "2026-12-31", "needed_until": "2027-12-03",
                 "missing_years": [2027]}
    data = cal_service.current_data(world.store)
    years = dict(data.years)
    years["2027"] = CalendarYear(holidays=[D("2027-01-01")], source="测试")
    body = cal_service.to_builtins(CalendarData(years=years))
    r = world.http.put("/api/v1/admin/calendar", json=body, headers=admin)
    assert r.status_code == 200, r.text
    c = world.http.get("/api/v1/office/calendar/coverage", headers=admin).json()
    assert c["covered"] and c["last_day"] == "2027-12-31"
    assert world.http.get("/readyz").json()["calendar"] == "covered until 2027-12-31"


def test_field_roles_do_not_read_the_coverage(world: World, grid1: Device) -> None:
    r = world.http.get("/api/v1/office/calendar/coverage", headers=grid1.headers)
    assert error_of(r, 403)["code"] == "forbidden"


def test_the_case_ledger_says_which_deadlines_are_estimates(world: World) -> None:
    from sync_server.domain.reports.service import BEYOND_CALENDAR_NOTE, build

    world.clock.advance(397 * DAY_MS)  # 2026-12-28 (重庆): its acceptance deadline is in 2027
    office = world.login("office1", "office-pc")
    r = world.http.post("/api/v1/cases", json={"source": "12333", "sector": "construction",
                                               "title": "年底来电"}, headers=office)
    assert r.status_code == 201, r.text
    assert r.json()["deadlines"]["beyond_calendar"] is True
    rows = build(world.store, world.clock(), "2026-12").cases.rows
    [row] = [x for x in rows if x["title"] == "年底来电"]
    assert row["deadline_note"] == BEYOND_CALENDAR_NOTE and row["accept_due"] == "2027-01-05"
