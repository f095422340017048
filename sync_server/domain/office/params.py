"""Query parameter rules the handler types cannot say: each bad value is 400 ``invalid_parameter``.

Types, choices and bounds are declared on the handlers (and so documented);
what is left here: the years a date may name, the month's spelling, and the
day a date starts in the township's time zone.
"""

from __future__ import annotations

import datetime as dt

from sync_server.domain.calendar.service import LOCAL
from sync_server.domain.errors import DomainError

#: The most items one page of an office list holds.
MAX_LIMIT = 500


def day(value: dt.date | None, name: str) -> dt.date | None:
    """A date of a filter, refused outside 1970..9000 (it becomes epoch milliseconds)."""
    if value is not None and not 1970 <= value.year <= 9000:
        raise DomainError("invalid_parameter", f"{name} must be a date YYYY-MM-DD", path=name)
    return value


def day_start_ms(d: dt.date) -> int:
    return int(dt.datetime.combine(d, dt.time(), LOCAL).timestamp() * 1000)


def month(raw: str | None, now_ms: int) -> str:
    """``YYYY-MM``; none given: the current month in the township."""
    if raw is None or raw == "":
        today = dt.datetime.fromtimestamp(now_ms / 1000, LOCAL).date()
        return f"{today.year:04d}-{today.month:02d}"
    try:
        first = dt.date.fromisoformat(raw + "-01")
    except ValueError:
        raise DomainError("invalid_parameter", "month must be YYYY-MM", path="month") from None
    if len(raw) != 7 or not 1970 <= first.year <= 9000:
        raise DomainError("invalid_parameter", "month must be YYYY-MM", path="month")
    return raw

