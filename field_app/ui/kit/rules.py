"""Plain Python both apps apply (no Flet here): China's time zone, the UI's
own refusal (``UiError``), which roles get the office console, and the case
intake form's rules (the phone's 登记案件 and the office's intake alike)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Iterator

from field_app.core.errors import DeviceError
from shared_schema import fields as field_rules
from shared_schema.roles import OFFICE_ROLES

CHINA = dt.timezone(dt.timedelta(hours=8))  # no DST: a fixed offset is exact
INTAKE_NUMBERS = {"workers_owed": int, "amount_owed": float}
#: a mainland mobile number (11 digits from 1) or a landline with its area code
PHONE = re.compile(r"1[3-9]\d{9}|0\d{2,3}\d{7,8}")


class UiError(DeviceError):
    """A refusal by the UI itself (not the device engine); shown as a snackbar."""


def is_office(role: str | None) -> bool:
    """Whether this role works in the office console (the field app is not for it)."""
    return role in OFFICE_ROLES


def text_limit(entity: str, name: str) -> int | None:
    """The longest text a field takes, in characters (``shared_schema.fields``,
    the server's limit): the form shows it with a counter."""
    rule = field_rules.rule_for(entity, name)
    return rule.max_chars if rule is not None else None


def filled(raw: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """The (name, value) pairs of a form that were filled in: text stripped,
    empty text and None left out."""
    for name, value in raw.items():
        if isinstance(value, str):
            value = value.strip()
        if value not in (None, ""):
            yield name, value


def parse_intake(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Case intake form → (fields for ``Device.open_case``, errors by field as
    i18n keys). Title or employer is required, as is the sector; counts are
    non-negative; months are YYYY-MM."""
    fields: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, value in filled(raw):
        if name in INTAKE_NUMBERS:
            try:
                number = INTAKE_NUMBERS[name](str(value).replace(",", ""))
            except ValueError:
                errors[name] = "err.not_a_number"
                continue
            if number < 0:
                errors[name] = "err.negative"
                continue
            fields[name] = number
        elif name in ("period_from", "period_to"):
            try:
                dt.datetime.strptime(str(value), "%Y-%m")
            except ValueError:
                errors[name] = "err.month_format"
                continue
            fields[name] = value
        else:
            limit = text_limit("case", name)
            if limit is not None and isinstance(value, str) and len(value) > limit:
                errors[name] = "err.too_long"
                continue
            fields[name] = value
    if ("period_from" in fields and "period_to" in fields
            and fields["period_to"] < fields["period_from"]):
        errors["period_to"] = "err.month_order"  # YYYY-MM compares as text
    phone = fields.get("complainant_phone")
    if phone is not None and not PHONE.fullmatch(str(phone).replace(" ", "").replace("-", "")):
        errors["complainant_phone"] = "err.phone"
    if not fields.get("title") and not fields.get("employer"):
        errors["title"] = "err.title_or_employer"
    if fields.get("sector") not in ("construction", "non_construction"):
        errors["sector"] = "err.required"
    return fields, errors
