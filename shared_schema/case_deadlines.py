"""A case's deadlines with the case rules' own accept period: the calendar's
``case_deadlines`` (accept within 5 working days, conclude within 60, +30
once extended) and, for a collective incident's case, acceptance the same
day it was opened (``shared_schema.cases.accept_working_days``). Pure."""

from __future__ import annotations

from typing import Any

import msgspec

from shared_schema.calendar import (
    DUE_SOON_DAYS,
    Deadlines,
    WorkCalendar,
    case_deadlines,
    local_date,
    safe_local_date,
)
from shared_schema.cases import INCIDENT_ACCEPT_WORKING_DAYS, REGISTERED, accept_working_days
from shared_schema.servertime import DEFAULT_MAX_BACKDATE_MS, case_opened_ms


def deadlines(cal: WorkCalendar, case: dict[str, Any], now_ms: int,
              max_backdate_ms: int = DEFAULT_MAX_BACKDATE_MS) -> Deadlines:
    """``case_deadlines``, with a collective incident's case due for
    acceptance on the (server-counted) day it was opened."""
    d = case_deadlines(cal, case, now_ms, max_backdate_ms)
    if accept_working_days(case) != INCIDENT_ACCEPT_WORKING_DAYS:
        return d
    opened = safe_local_date(case_opened_ms(case, max_backdate_ms))
    if opened is None:
        return d
    d = msgspec.structs.replace(d, accept_due=opened.isoformat())
    if (case.get("status") or REGISTERED) != REGISTERED:
        return d
    today = local_date(now_ms)
    overdue = today > opened
    left = cal.workdays_between(today, opened)
    return msgspec.structs.replace(d, overdue=overdue, working_days_left=left,
                                   due_soon=not overdue and left <= DUE_SOON_DAYS)
