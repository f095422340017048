"""Working days and case deadlines over the calendar: table-tested dates around
国庆, 春节, 元旦 and their make-up working days (调休)."""

from __future__ import annotations

import datetime as dt

import pytest

from server.support import World, error_of
from sync_server.domain.calendar import service as cal_service
from sync_server.domain.calendar.service import LOCAL, WorkCalendar, case_deadlines
from sync_server.domain.registry.service import publish_calendar

CAL = WorkCalendar.from_data(cal_service.packaged_data())
D = dt.date.fromisoformat


def ms(text: str) -> int:
    """Unix ms of a local (UTC+8) 'YYYY-MM-DD HH:MM'."""
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=LOCAL).timestamp() * 1000)


@pytest.mark.parametrize("day,workday", [
    ("2025-10-01", False), ("2025-10-08", False), ("2025-10-09", True),
    ("2025-09-28", True),   # Sunday make-up day before 国庆
    ("2025-10-11", True),   # Saturday make-up day after 国庆
    ("2025-10-12", False),  # an ordinary Sunday
    ("2025-01-26", True), ("2025-01-28", False), ("2025-02-04", False), ("2025-02-08", True),
    ("2025-05-05", False), ("2025-04-27", True), ("2025-06-02", False),
    ("2025-11-26", True), ("2025-11-29", False),
    ("2026-01-02", False), ("2026-01-04", True), ("2026-02-14", True), ("2026-02-23", False),
    ("2026-02-24", True), ("2026-02-28", True), ("2026-05-09", True),
    ("2026-09-25", False), ("2026-09-20", True), ("2026-10-07", False), ("2026-10-10", True),
])
def test_is_workday(day: str, workday: bool) -> None:
    assert CAL.is_workday(D(day)) is workday


@pytest.mark.parametrize("start,n,due", [
    ("2025-11-26", 5, "2025-12-03"),  # ordinary weeks
    ("2025-09-26", 5, "2025-10-10"),  # 国庆: Sep 28 make-up counts, Oct 1–8 do not
    ("2025-09-30", 5, "2025-10-14"),  # Oct 11 (Saturday) is a working day
    ("2025-01-24", 5, "2025-02-07"),  # 春节 2025: Jan 26 make-up, Jan 28–Feb 4 off
    ("2025-02-07", 1, "2025-02-08"),  # Saturday make-up day
    ("2025-12-31", 1, "2026-01-04"),  # 元旦 2026: Jan 1–3 off, Sunday Jan 4 worked
    ("2026-02-13", 1, "2026-02-14"),  # 春节 2026: Saturday Feb 14 worked
    ("2026-02-13", 2, "2026-02-24"),  # …then Feb 15–23 off
    ("2026-09-30", 5, "2026-10-13"),  # 国庆 2026: Oct 1–7 off, Oct 10 worked
    ("2025-10-10", 0, "2025-10-10"),
])
def test_add_workdays(start: str, n: int, due: str) -> None:
    assert CAL.add_workdays(D(start), n) == D(due)


def test_workdays_between_counts_the_end_not_the_start() -> None:
    assert CAL.workdays_between(D("2025-09-26"), D("2025-10-10")) == 5
    assert CAL.workdays_between(D("2025-10-10"), D("2025-09-26")) == -5
    assert CAL.workdays_between(D("2025-10-01"), D("2025-10-08")) == 0
    # 2025 has 248 working days: 365 − 104 weekend days − 18 holidays on weekdays
    # (10 of the 28 holiday days are weekend days) + 5 make-up days
    assert CAL.workdays_between(D("2024-12-31"), D("2025-12-31")) == 248


# accept within 5 working days of opening: case opened 2025-09-26 10:00 (Fri) → due 2025-10-10
@pytest.mark.parametrize("now,overdue,due_soon,left", [
    ("2025-09-26 18:00", False, False, 5),
    ("2025-09-28 09:00", False, False, 4),  # Sunday make-up day is counted
    ("2025-09-29 09:00", False, True, 3),
    ("2025-10-05 09:00", False, True, 2),  # during the holiday
    ("2025-10-10 23:59", False, True, 0),  # the due day itself
    ("2025-10-11 00:01", True, False, -1),  # the Saturday make-up day after: overdue
])
def test_accept_deadline(now: str, overdue: bool, due_soon: bool, left: int) -> None:
    case = {"status": "registered", "opened_at": ms("2025-09-26 10:00")}
    d = case_deadlines(CAL, case, ms(now))
    assert d.accept_due == "2025-10-10" and d.conclude_due is None
    assert (d.overdue, d.due_soon, d.working_days_left) == (overdue, due_soon, left)


def test_conclude_deadline_60_working_days_extendable_by_30() -> None:
    accepted = ms("2025-12-29 09:00")
    case = {"status": "accepted", "opened_at": ms("2025-12-26 09:00"), "accepted_at": accepted}
    d = case_deadlines(CAL, case, ms("2026-01-05 09:00"))
    # 60 working days from Mon Dec 29, counted by hand: Dec 30–31 (2), 元旦 Jan 1–3 off,
    # Sun Jan 4 worked (3), Jan 5–30 (23), Feb 2–13 (33), Sat Feb 14 worked (34), 春节
    # Feb 15–23 off, Feb 24–27 (38), Sat Feb 28 worked (39), Mar 2–27 (59), Mon Mar 30 (60)
    assert d.conclude_due == "2026-03-30"
    assert CAL.workdays_between(D("2025-12-29"), D("2026-03-30")) == 60
    extended = case_deadlines(CAL, {**case, "extended": True}, ms("2026-01-05 09:00"))
    assert extended.conclude_due == CAL.add_workdays(D("2026-03-30"), 30).isoformat()
    assert extended.conclude_due == "2026-05-14"  # 清明 Apr 4–6 and 劳动节 May 1–5 off, May 9 worked
    assert not d.overdue and not case_deadlines(CAL, case, ms("2026-03-30 23:00")).overdue
    assert case_deadlines(CAL, case, ms("2026-03-31 09:00")).overdue
    assert not case_deadlines(CAL, {**case, "extended": True}, ms("2026-03-31 09:00")).overdue


@pytest.mark.parametrize("resolved,on_time", [("2026-03-30 17:00", True),
                                              ("2026-03-31 09:00", False)])
def test_concluded_on_time(resolved: str, on_time: bool) -> None:
    case = {"status": "closed", "opened_at": ms("2025-12-26 09:00"),
            "accepted_at": ms("2025-12-29 09:00"), "resolved_at": ms(resolved),
            "closed_at": ms(resolved) + 3600_000}
    d = case_deadlines(CAL, case, ms("2026-06-01 09:00"))
    assert (d.on_time, d.overdue, d.due_soon) == (on_time, False, False)


def test_admin_replaces_the_calendar(world: World, admin: dict[str, str],
                                     office: dict[str, str]) -> None:
    r = world.http.get("/api/v1/office/calendar", headers=office)
    assert r.status_code == 200 and "2025" in r.json()["years"]
    body = {"years": {"2025": {"holidays": ["2025-12-01"], "workdays": ["2025-12-06"],
                               "source": "测试"}}}
    r = world.http.put("/api/v1/admin/calendar", json=body, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["years"]["2025"]["holidays"] == ["2025-12-01"]
    loaded = cal_service.load(world.store)
    assert not loaded.is_workday(D("2025-12-01")) and loaded.is_workday(D("2025-12-06"))
    assert loaded.is_workday(D("2025-10-09"))
    [entry] = world.http.get("/api/v1/office/audit", params={"action": "calendar_update"},
                             headers=admin).json()["items"]
    assert entry["username"] == "admin" and entry["details"]["years"] == ["2025"]
    assert error_of(world.http.put("/api/v1/admin/calendar", json=body, headers=office),
                    403)["code"] == "forbidden"


@pytest.mark.parametrize("body,code,status", [
    ({"years": {"2025": {"holidays": ["2025-13-01"]}}}, "invalid_body", 400),
    ({"years": {"2025": {"holidays": ["2026-01-01"]}}}, "invalid_calendar", 422),
    ({"years": {"25": {"holidays": []}}}, "invalid_calendar", 422),
    ({"years": {"2025": {"holidays": ["2025-10-11"], "workdays": ["2025-10-11"]}}},
     "invalid_calendar", 422),
    ({"years": {"2025": {"workdays": ["2025-10-09"]}}}, "invalid_calendar", 422),
    ({"nothing": 1}, "invalid_body", 400),
])
def test_bad_calendars_are_refused(world: World, admin: dict[str, str], body: dict,
                                   code: str, status: int) -> None:
    r = world.http.put("/api/v1/admin/calendar", json=body, headers=admin)
    assert error_of(r, status)["code"] == code
    assert world.store.get_calendar() is None


def test_the_calendar_is_reference_data_every_device_pulls(world: World, admin: dict[str, str],
                                                           grid1) -> None:
    """At start the server publishes its calendar as the ``work_calendar``
    record; an admin's replacement is a new revision of it (devices count
    case deadlines over it, tests/device/test_calendar.py)."""
    grid1.pull()
    first = grid1.record("work_calendar", "workdays")
    assert first["body"] == cal_service.to_builtins(cal_service.packaged_data())
    body = {"years": {"2025": {"holidays": ["2025-12-01"], "workdays": ["2025-12-06"],
                               "source": "测试"}}}
    assert world.http.put("/api/v1/admin/calendar", json=body, headers=admin).status_code == 200
    [change] = [c for c in grid1.pull() if c["entity"] == "work_calendar"]
    assert change["data"]["body"]["years"] == {"2025": {
        "holidays": ["2025-12-01"], "workdays": ["2025-12-06"], "source": "测试"}}
    # publishing the same calendar again (every server start) writes nothing
    rev = world.store.max_rev()
    with world.store.transaction() as tx:
        assert not publish_calendar(tx, world.clock(), cal_service.to_builtins(
            cal_service.current_data(world.store)))
    assert world.store.max_rev() == rev
