"""Working days (工作日) for case deadlines: weekends, public holidays and make-up days.

Pure rules over dates, shared by the server (office ledger, reports) and the
field app (a case's deadline on the phone), so both count the same way. The
data is a calendar file (``cn_workdays.json``, packaged here); an admin may
replace it on the server (``PUT /api/v1/admin/calendar``, sync_server's
calendar service), which then wins over the packaged file there.

Counting follows the deadline rules of docs/office-api.md: "within N working
days of D" means the N-th working day after D (D itself is not counted); a
case is overdue on the day after that due date. Dates are local (UTC+8).
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import msgspec

from shared_schema.base import WireStruct
from shared_schema.servertime import DEFAULT_MAX_BACKDATE_MS, case_opened_ms

CALENDAR_FILE = Path(__file__).with_name("cn_workdays.json")
#: The id of the ``work_calendar`` reference record (the server's calendar, pulled by devices).
CALENDAR_ID = "workdays"
#: China has no daylight saving time: a fixed offset is exact.
LOCAL = dt.timezone(dt.timedelta(hours=8))

#: Deadlines of 劳动保障监察条例 and its 若干规定 §18, in working days.
ACCEPT_DAYS = 5
CONCLUDE_DAYS = 60
EXTENSION_DAYS = 30
#: A deadline within this many working days (and not passed) is "due soon".
DUE_SOON_DAYS = 3


class CalendarYear(WireStruct, kw_only=True):
    holidays: list[dt.date] = []
    workdays: list[dt.date] = []  # make-up working days on a weekend (调休上班)
    source: str = ""


class CalendarData(WireStruct, kw_only=True):
    """The calendar file's shape; also the body of ``PUT /api/v1/admin/calendar``."""

    years: dict[str, CalendarYear]
    timezone_offset_hours: int = 8
    note: str = msgspec.field(default="", name="_note")


calendar_decoder = msgspec.json.Decoder(CalendarData)


@dataclass(frozen=True)
class WorkCalendar:
    """Working days: Monday to Friday, less ``holidays``, plus ``workdays``
    (a make-up day wins over a holiday on the same date).

    Counting is arithmetic over the plain week, corrected by the days that
    differ from it, found by bisection, rather than a walk day by day: a
    case's deadline is 5, 60 or 90 working days away, and the office ledger
    and the monthly report count them for every case of a district."""

    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]
    years: frozenset[int]
    # Derived in __post_init__, left out of equality and repr.
    _off: list[dt.date] = field(init=False, repr=False, compare=False)
    _on: list[dt.date] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # The days that differ from the plain week, sorted: weekdays off, weekend days on.
        object.__setattr__(self, "_off", sorted(
            d for d in self.holidays if d.weekday() < 5 and d not in self.workdays))
        object.__setattr__(self, "_on", sorted(d for d in self.workdays if d.weekday() >= 5))

    @classmethod
    def from_data(cls, data: CalendarData) -> "WorkCalendar":
        holidays: set[dt.date] = set()
        workdays: set[dt.date] = set()
        for year in data.years.values():
            holidays.update(year.holidays)
            workdays.update(year.workdays)
        years = frozenset(int(y) for y in data.years if y.isdigit())
        holidays.update(statutory_fixed_days(years))
        return cls(frozenset(holidays), frozenset(workdays), years)

    @property
    def last_day(self) -> dt.date | None:
        """The last day the calendar knows (31 December of its last year)."""
        return dt.date(max(self.years), 12, 31) if self.years else None

    def covers(self, day: dt.date) -> bool:
        """Whether ``day``'s year is in the calendar (its holidays and 调休 known)."""
        return day.year in self.years

    def is_workday(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def add_workdays(self, start: dt.date, n: int) -> dt.date:
        """The n-th working day after ``start`` (``start`` itself not counted);
        ``start`` when n ≤ 0."""
        if n <= 0:
            return start
        # The first day with n working days in (start, day]: find a day with at
        # least n (about 7n/5 days on, more over holidays), then bisect.
        lo = start.toordinal()
        step = 2 * n + 7
        while self.workdays_between(start, dt.date.fromordinal(lo + step)) < n:
            step *= 2
        hi = lo + step
        while lo + 1 < hi:
            mid = (lo + hi) // 2
            if self.workdays_between(start, dt.date.fromordinal(mid)) >= n:
                hi = mid
            else:
                lo = mid
        return dt.date.fromordinal(hi)

    def workdays_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in (start, end]; negative when end is before start."""
        if end < start:
            return -self.workdays_between(end, start)
        off, on = self._off, self._on
        return (_weekdays_to(end) - _weekdays_to(start)
                - (bisect.bisect_right(off, end) - bisect.bisect_right(off, start))
                + (bisect.bisect_right(on, end) - bisect.bisect_right(on, start)))


def _weekdays_to(day: dt.date) -> int:
    """Mondays to Fridays from 0001-01-01 (a Monday) up to ``day``, inclusive."""
    weeks, rest = divmod(day.toordinal(), 7)
    return 5 * weeks + min(rest, 5)


def packaged_data() -> CalendarData:
    return calendar_decoder.decode(CALENDAR_FILE.read_bytes())


@lru_cache(maxsize=1)
def packaged() -> WorkCalendar:
    """The calendar shipped with this build (the field app's calendar)."""
    return WorkCalendar.from_data(packaged_data())


#: Timestamps outside these years are not dates a deadline can use (a device
#: may send any integer): they count as unknown rather than fail the request.
_YEARS = (1970, 9000)


def local_date(ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(ms / 1000, LOCAL).date()


def safe_local_date(ms: int | None) -> dt.date | None:
    try:
        day = local_date(ms) if isinstance(ms, (int, float)) else None
    except (OverflowError, OSError, ValueError):
        return None
    return day if day is not None and _YEARS[0] <= day.year <= _YEARS[1] else None


class Deadlines(WireStruct, kw_only=True):
    """A case's deadlines over the working-day calendar (computed, never stored)."""

    accept_due: str | None = None  # YYYY-MM-DD
    conclude_due: str | None = None
    overdue: bool = False
    due_soon: bool = False
    on_time: bool | None = None  # concluded (resolved/closed) by its due date; None: open
    working_days_left: int | None = None
    # A due date past the calendar's last day: counted over weekdays and the fixed
    # statutory days only, so an estimate until the admin adds that year (#17).
    beyond_calendar: bool = False


def case_deadlines(cal: WorkCalendar, case: dict[str, Any], now_ms: int,
                   max_backdate_ms: int = DEFAULT_MAX_BACKDATE_MS) -> Deadlines:
    """Accept within 5 working days of opening; conclude within 60 working days of
    acceptance (立案), 90 once extended. Concluded = resolved (处置完毕).

    Opening counts at server time (``servertime.case_opened_ms``: the server's
    receipt, or the device's ``opened_at`` up to ``max_backdate_ms`` before
    it); ``accepted_at`` and ``resolved_at`` are folded from the events'
    counted times by the server."""
    status = case.get("status") or "registered"
    today = local_date(now_ms)
    opened = safe_local_date(case_opened_ms(case, max_backdate_ms))
    accept_due = cal.add_workdays(opened, ACCEPT_DAYS) if opened else None
    accepted = safe_local_date(case.get("accepted_at"))
    conclude_due = None
    if accepted:
        days = CONCLUDE_DAYS + (EXTENSION_DAYS if case.get("extended") else 0)
        conclude_due = cal.add_workdays(accepted, days)
    due: dt.date | None = None
    done_at: int | None = None
    if status == "registered":
        due = accept_due
    elif status == "accepted":
        due = conclude_due
    elif status in ("resolved", "closed"):
        done_at = case.get("resolved_at") or case.get("closed_at")
    out = Deadlines(accept_due=accept_due.isoformat() if accept_due else None,
                    conclude_due=conclude_due.isoformat() if conclude_due else None)
    if due is not None:
        left = cal.workdays_between(today, due)
        overdue = today > due
        return _beyond(cal, msgspec.structs.replace(
            out, overdue=overdue, working_days_left=left,
            due_soon=not overdue and left <= DUE_SOON_DAYS))
    done = safe_local_date(done_at)
    if done is not None and conclude_due is not None:
        return _beyond(cal, msgspec.structs.replace(out, on_time=done <= conclude_due))
    return _beyond(cal, out)


# --- #17 documents: calendar coverage ----------------------------------------------------

#: The fixed-date days off of 《全国年节及纪念日放假办法》 (2024 revision), the same every
#: year: 元旦 1 January, 劳动节 1–2 May, 国庆节 1–3 October. The lunar festivals and a year's
#: make-up working days (调休) are known only from that year's State Council notice.
STATUTORY_FIXED = ((1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3))
#: Years after the calendar's last one that get the fixed days (deadlines reach ≤ 90 working days on).
STATUTORY_YEARS_AHEAD = 2
#: How far ahead the calendar must reach: today + this many days (server time).
COVERAGE_DAYS = 365


def statutory_fixed_days(years: frozenset[int]) -> set[dt.date]:
    """The fixed statutory days off of the years just after the calendar's last one:
    never a working day, whatever that year's notice will say."""
    if not years:
        return set()
    last = max(years)
    return {dt.date(y, m, d) for y in range(last + 1, last + 1 + STATUTORY_YEARS_AHEAD)
            for m, d in STATUTORY_FIXED}


def _beyond(cal: WorkCalendar, out: Deadlines) -> Deadlines:
    last = cal.last_day
    dues = [dt.date.fromisoformat(d) for d in (out.accept_due, out.conclude_due) if d]
    if dues and (last is None or max(dues) > last):
        return msgspec.structs.replace(out, beyond_calendar=True)
    return out


class CalendarCoverage(WireStruct, kw_only=True):
    """Whether the working-day calendar reaches ``COVERAGE_DAYS`` past today."""

    covered: bool
    last_day: str | None  # YYYY-MM-DD: 31 December of the calendar's last year
    needed_until: str  # YYYY-MM-DD: today + COVERAGE_DAYS
    missing_years: list[int] = []  # the years between that the calendar lacks


def coverage(cal: WorkCalendar, today: dt.date, days: int = COVERAGE_DAYS) -> CalendarCoverage:
    until = today + dt.timedelta(days=days)
    missing = [y for y in range(today.year, until.year + 1) if y not in cal.years]
    last = cal.last_day
    return CalendarCoverage(covered=not missing, last_day=last.isoformat() if last else None,
                            needed_until=until.isoformat(), missing_years=missing)
