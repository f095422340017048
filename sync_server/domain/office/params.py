"""Query parameters of the office API: every bad value is 400 ``invalid_parameter``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request

from sync_server.domain.calendar.service import LOCAL
from sync_server.errors import ApiError
from sync_server.http import int_param

MAX_LIMIT = 500


def text(request: Request, name: str, choices: tuple[str, ...] | None = None) -> str | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    if choices is not None and raw not in choices:
        raise ApiError("invalid_parameter", f"{name} must be one of {', '.join(choices)}", 400,
                       path=name)
    return raw


def flag(request: Request, name: str) -> bool | None:
    raw = text(request, name)
    if raw is None:
        return None
    if raw.lower() in ("true", "1", "yes"):
        return True
    if raw.lower() in ("false", "0", "no"):
        return False
    raise ApiError("invalid_parameter", f"{name} must be true or false", 400, path=name)


def day(request: Request, name: str) -> dt.date | None:
    raw = text(request, name)
    if raw is None:
        return None
    try:
        value = dt.date.fromisoformat(raw)
    except ValueError:
        value = None
    if value is None or not 1970 <= value.year <= 9000:
        raise ApiError("invalid_parameter", f"{name} must be a date YYYY-MM-DD", 400,
                       path=name)
    return value


def day_start_ms(d: dt.date) -> int:
    return int(dt.datetime.combine(d, dt.time(), LOCAL).timestamp() * 1000)


def page(request: Request, default: int = 50) -> tuple[int, int]:
    limit = int_param(request, "limit", default)
    offset = int_param(request, "offset", 0)
    if limit is None or not 1 <= limit <= MAX_LIMIT:
        raise ApiError("invalid_parameter", f"limit must be 1..{MAX_LIMIT}", 400, path="limit")
    if offset is None or offset < 0:
        raise ApiError("invalid_parameter", "offset must be ≥ 0", 400, path="offset")
    return limit, offset


def month(request: Request, now_ms: int) -> str:
    raw = text(request, "month")
    if raw is None:
        today = dt.datetime.fromtimestamp(now_ms / 1000, LOCAL).date()
        return f"{today.year:04d}-{today.month:02d}"
    try:
        first = dt.date.fromisoformat(raw + "-01")
    except ValueError:
        raise ApiError("invalid_parameter", "month must be YYYY-MM", 400, path="month") from None
    if len(raw) != 7 or not 1970 <= first.year <= 9000:
        raise ApiError("invalid_parameter", "month must be YYYY-MM", 400, path="month")
    return raw


def window(items: list[Any], limit: int, offset: int) -> list[Any]:
    return items[offset: offset + limit]
