"""The alerts screen (预警提醒) of the office console: the rows to draw from an
``AlertList``, open ones first, and the words of the count the navigation
and the banner show. Plain Python (no Flet); the view binds it."""

from __future__ import annotations

from dataclasses import dataclass

from shared_schema.office import AlertList, AlertView


@dataclass(frozen=True)
class AlertRow:
    alert: AlertView
    title: str
    place: str
    open: bool  # not acknowledged by this login yet


def alert_rows(page: AlertList) -> list[AlertRow]:
    """The alerts, the caller's unacknowledged ones first, each group newest first
    (the server's order)."""
    rows = [AlertRow(a, a.case_title or a.place or "—",
                     " · ".join(x for x in (a.village_name, a.place) if x) or "—",
                     not a.acknowledged) for a in page.items]
    return [r for r in rows if r.open] + [r for r in rows if not r.open]


def badge_text(count: int | None) -> str | None:
    """The navigation badge: the count, "99+" past 99; None when there is nothing open."""
    if not count:
        return None
    return "99+" if count > 99 else str(count)
