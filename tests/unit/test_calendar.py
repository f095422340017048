"""Working-day counting against a day-by-day walk, over random calendars."""

from __future__ import annotations

import datetime as dt
import random

from shared_schema.calendar import WorkCalendar, packaged


def walk_is_workday(cal: WorkCalendar, day: dt.date) -> bool:
    return day in cal.workdays or (day not in cal.holidays and day.weekday() < 5)


def walk_add(cal: WorkCalendar, start: dt.date, n: int) -> dt.date:
    day = start
    while n > 0:
        day += dt.timedelta(days=1)
        if walk_is_workday(cal, day):
            n -= 1
    return day


def walk_between(cal: WorkCalendar, start: dt.date, end: dt.date) -> int:
    if end < start:
        return -walk_between(cal, end, start)
    return sum(walk_is_workday(cal, start + dt.timedelta(days=i))
               for i in range(1, (end - start).days + 1))


def random_calendar(rng: random.Random) -> WorkCalendar:
    base = dt.date(2024, 1, 1)
    days = [base + dt.timedelta(days=rng.randrange(900)) for _ in range(rng.randrange(0, 120))]
    holidays = frozenset(d for d in days if rng.random() < 0.7)
    workdays = frozenset(d for d in days if rng.random() < 0.4)  # some on a holiday too
    return WorkCalendar(holidays, workdays, frozenset({2024, 2025, 2026}))


def test_counting_matches_a_day_by_day_walk() -> None:
    rng = random.Random(20251126)
    for cal in [packaged(), WorkCalendar(frozenset(), frozenset(), frozenset())] + [
            random_calendar(rng) for _ in range(40)]:
        for _ in range(60):
            start = dt.date(2023, 11, 1) + dt.timedelta(days=rng.randrange(1100))
            end = start + dt.timedelta(days=rng.randrange(-400, 400))
            n = rng.choice([0, 1, 2, 5, 60, 90, rng.randrange(-3, 400)])
            assert cal.add_workdays(start, n) == walk_add(cal, start, n), (start, n)
            assert cal.workdays_between(start, end) == walk_between(cal, start, end), (start, end)
            assert cal.is_workday(end) == walk_is_workday(cal, end)


def test_a_long_holiday_and_its_make_up_days() -> None:
    # 2025 National Day: Oct 1-8 off, Sunday Sep 28 and Saturday Oct 11 worked.
    cal = packaged()
    assert cal.add_workdays(dt.date(2025, 9, 26), 1) == dt.date(2025, 9, 28)
    assert cal.add_workdays(dt.date(2025, 9, 30), 1) == dt.date(2025, 10, 9)
    assert cal.add_workdays(dt.date(2025, 9, 30), 3) == dt.date(2025, 10, 11)
    assert cal.workdays_between(dt.date(2025, 9, 30), dt.date(2025, 10, 8)) == 0
