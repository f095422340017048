"""What every field screen uses: the UI's own error, China time, money and
number text, emoji the font cannot draw, text limits, the current user.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, field
from typing import Any, get_args

from field_app.core import Device
from field_app.ui.kit.rules import CHINA
from shared_schema.entities import SiteKind


#: The kinds of site, in the order the forms offer them (``shared_schema.entities.SiteKind``).
SITE_KINDS: tuple[str, ...] = get_args(SiteKind)
ACTIVE_SITE_STATUSES = (None, "active")


def now_ms() -> int:
    return int(time.time() * 1000)


def month_of(ms: int | None, tz: dt.tzinfo = CHINA) -> tuple[int, int] | None:
    if ms is None:
        return None
    d = dt.datetime.fromtimestamp(ms / 1000, tz)
    return d.year, d.month


#: pictographs the bundled CJK font cannot draw (they would show as boxes, here
#: and in the office): emoji, symbols and pictographs, dingbats, flags, the
#: variation selector and the zero-width joiner that glue them
EMOJI = re.compile("[\U0001F000-\U0001FAFF\U00002600-\U000027BF\U0001F1E6-\U0001F1FF"
                   "\U0000FE0F\U0000200D\U00002B50\U00002B55]")


def strip_emoji(text: str) -> tuple[str, bool]:
    """Text without emoji, and whether any were removed (the screen says so)."""
    clean = EMOJI.sub("", text)
    return clean, clean != text


def money(amount: Any) -> str:
    """An amount as money: 42000 → "42,000 元" (cents only when there are some)."""
    if amount is None or isinstance(amount, bool) or not isinstance(amount, (int, float)):
        return "—"
    text = f"{amount:,.2f}"
    return (text[:-3] if text.endswith(".00") else text) + " 元"



def parse_number(text: str, integer: bool) -> int | float | None:
    """A number typed by a person, or None if it is not one."""
    text = (text or "").strip().replace(",", "")
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    if integer:
        return int(number) if number.is_integer() else None
    return int(number) if number.is_integer() else number


@dataclass(frozen=True)
class FieldError:
    """Why typed text is not stored: an i18n key and its arguments, shown
    under the field (``part`` names the part of a two-number item)."""

    key: str
    args: dict[str, Any] = field(default_factory=dict)
    part: str | None = None


def check_number_text(text: str, integer: bool) -> tuple[int | float | None, FieldError | None]:
    """Typed text → (number, None) or (None, the error to show under the field)."""
    if not (text or "").strip():
        return None, FieldError("err.required")
    cleaned = text.strip().replace(",", "")
    try:
        number = float(cleaned)
    except ValueError:
        return None, FieldError("err.not_a_number")
    if number != number or number in (float("inf"), float("-inf")):
        return None, FieldError("err.not_a_number")
    if integer and not number.is_integer():
        return None, FieldError("err.whole_number")
    return (int(number) if number.is_integer() else number), None


def current_user(device: Device) -> dict[str, Any]:
    """The logged-in (or last) user of this device: id, username, role."""
    return device.user()
