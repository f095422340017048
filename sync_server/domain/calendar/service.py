"""The township's working-day calendar on the server: the admin's replacement
(``PUT /api/v1/admin/calendar``, kept in the store's ``calendar`` table) wins over
the file packaged with shared_schema. The counting rules and case deadlines are
pure and shared with the field app: ``shared_schema.calendar``.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

# A case's deadlines with the case rules' own accept period (a collective incident's
# case: the same day; shared_schema.case_deadlines), for every server count.
from shared_schema.case_deadlines import deadlines as case_deadlines  # noqa: F401
from shared_schema.calendar import (  # noqa: F401  (the server's calendar API)
    ACCEPT_DAYS,
    CALENDAR_FILE,
    CONCLUDE_DAYS,
    COVERAGE_DAYS,
    DUE_SOON_DAYS,
    EXTENSION_DAYS,
    LOCAL,
    CalendarCoverage,
    CalendarData,
    CalendarYear,
    Deadlines,
    WorkCalendar,
    calendar_decoder,
    coverage,
    local_date,
    packaged_data,
    safe_local_date,
)
from sync_server.domain.errors import DomainError


def validate(data: CalendarData) -> None:
    """Reject a calendar that contradicts itself; raises DomainError 422."""
    for name, year in data.years.items():
        if not (name.isdigit() and len(name) == 4):
            raise DomainError("invalid_calendar", f"year keys are four digits, not {name!r}",
                              path=f"$.years.{name}")
        for kind in ("holidays", "workdays"):
            for day in getattr(year, kind):
                if str(day.year) != name:
                    raise DomainError("invalid_calendar", f"{day} is not in {name}",
                                      path=f"$.years.{name}.{kind}")
        both = set(year.holidays) & set(year.workdays)
        if both:
            raise DomainError("invalid_calendar", "a day cannot be a holiday and a working day",
                              days=sorted(str(d) for d in both))
        weekday_makeup = [str(d) for d in year.workdays if d.weekday() < 5]
        if weekday_makeup:
            raise DomainError("invalid_calendar", "make-up working days fall on a weekend",
                              days=weekday_makeup)


def current_data(store: Any) -> CalendarData:
    stored = store.get_calendar()
    return msgspec.convert(stored, CalendarData) if stored is not None else packaged_data()


def load(store: Any) -> WorkCalendar:
    return WorkCalendar.from_data(current_data(store))


def to_builtins(data: CalendarData) -> dict[str, Any]:
    return json.loads(msgspec.json.encode(data))


def coverage_now(store: Any, now_ms: int) -> CalendarCoverage:
    """Whether the server's calendar reaches ``COVERAGE_DAYS`` past today (server time)."""
    return coverage(load(store), local_date(now_ms))


def readiness_note(store: Any, now_ms: int) -> str:
    """The calendar line of ``/readyz``: a warning, never a reason to stop taking writes."""
    try:
        c = coverage_now(store, now_ms)
    except Exception as exc:  # reported, not raised (the database line says more)
        return f"unknown: {type(exc).__name__}"
    if c.covered:
        return f"covered until {c.last_day}"
    years = ", ".join(map(str, c.missing_years))
    return (f"warning: the working-day calendar ends {c.last_day}, deadlines reach "
            f"{c.needed_until}; add {years} (PUT /api/v1/admin/calendar)")
