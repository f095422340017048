"""Inspection checklist templates and the pure rules that read them.

The checklists themselves are data: versioned JSON files in
``shared_schema/templates/`` (``<kind>.v<version>.json``), decoded here into
the typed Structs of ``shared_schema.checklist_types`` (re-exported here).
This module only reads those files; it never touches the network, a database
or the clock.

An inspection's answers are passed around as plain dicts keyed by item code::

    {"C01": {"answer": "yes"},
     "C04": {"answer": "yes", "value": "重庆农村商业银行"},
     "C08": {"answer": 42},
     "C24": {"answer": {"interviewed": 6, "reporting_arrears": 0}},
     "C26": {"answer": "无", "value": "2025-01-31"}}

Answer shapes by ``ChecklistItem.answer``:

* ``yes_no`` -> ``"yes"`` / ``"no"``; ``yes_no_na`` also ``"na"``;
  ``yes_no_exempt`` also ``"exempt"``.
* ``number`` -> an int or float (never a bool); bounds in ``min``/``max``,
  whole numbers only when ``integer`` is true.
* ``numbers`` -> a dict with exactly the keys of ``parts``, each a number
  checked against that part's bounds; a part's ``at_most`` names a sibling
  part it may not exceed (e.g. workers reporting arrears <= interviewed).
* ``text`` -> a str.

The optional ``value`` follows ``ChecklistItem.value`` (a ``ValueSpec``):
``number``, ``text``, ``date`` ("YYYY-MM-DD"), ``month`` ("YYYY-MM") or
``numbers`` (as above).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from importlib import resources
from typing import Any

import msgspec

from shared_schema.checklist_types import (
    HEADCOUNT_KINDS,
    SIX_SYSTEMS,
    AnswerType,
    ChecklistGroup,
    ChecklistItem,
    ChecklistTemplate,
    HeadcountKind,
    HeaderField,
    LocalizedText,
    Number,
    SixSystem,
    ValuePart,
    ValueSpec,
)

__all__ = [
    "ANSWER_ERROR_CODES",
    "AnswerError",
    "AnswerType",
    "ChecklistError",
    "ChecklistGroup",
    "ChecklistItem",
    "ChecklistTemplate",
    "HEADCOUNT_KINDS",
    "HeadcountKind",
    "HeaderField",
    "LocalizedText",
    "SIX_SYSTEMS",
    "SixSystem",
    "TemplateNotFoundError",
    "ValuePart",
    "ValueSpec",
    "headcounts",
    "load_templates",
    "missing_for_submit",
    "six_systems",
    "template_for_site_kind",
    "validate_answer",
]

ANSWER_ERROR_CODES: frozenset[str] = frozenset(
    {"unknown_template_item", "invalid_answer", "negative_value", "out_of_range", "invalid_value"}
)

_CHOICES: dict[str, tuple[str, ...]] = {
    "yes_no": ("yes", "no"),
    "yes_no_na": ("yes", "no", "na"),
    "yes_no_exempt": ("yes", "no", "exempt"),
}
#: The answers each choice answer type takes (read-only; for indexes built on top).
CHOICES = _CHOICES
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")

_TEMPLATE_DECODER = msgspec.json.Decoder(ChecklistTemplate)


# --------------------------------------------------------------------------
# Errors


class ChecklistError(Exception):
    """A checklist rule was broken; ``code`` is stable, ``message`` is for people."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details: dict[str, Any] = dict(details or {})

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r}, {self.details!r})"


class AnswerError(ChecklistError):
    """An answer does not fit its checklist item; ``details["item_code"]`` names it."""


class TemplateNotFoundError(ChecklistError, LookupError):
    """No template covers the requested site kind (code ``unknown_site_kind``)."""


# --------------------------------------------------------------------------
# Loading


@functools.lru_cache(maxsize=1)
def _bundled_templates() -> tuple[ChecklistTemplate, ...]:
    folder = resources.files("shared_schema").joinpath("templates")
    templates = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        template = _TEMPLATE_DECODER.decode(entry.read_bytes())
        _check_template(template, entry.name)
        templates.append(template)
    ids = [t.id for t in templates]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate checklist template ids: {sorted(ids)}")
    return tuple(templates)


def _check_template(template: ChecklistTemplate, file_name: str) -> None:
    """Reject a template file whose parts do not refer to each other correctly."""

    def fail(problem: str) -> None:
        raise ValueError(f"checklist template {file_name}: {problem}")

    if file_name != f"{template.kind}.v{template.version}.json":
        fail(f"file name does not match kind {template.kind!r} and version {template.version}")
    codes = [item.code for item in template.items]
    if len(set(codes)) != len(codes):
        fail("duplicate item codes")
    grouped = [code for group in template.groups for code in group.items]
    if template.groups and sorted(grouped) != sorted(codes):
        fail("groups must list every item exactly once")
    for item in template.items:
        if (item.good is not None) != (item.answer in _CHOICES):
            fail(f"{item.code}: 'good' is required for yes/no answers and only for them")
        if bool(item.parts) != (item.answer == "numbers"):
            fail(f"{item.code}: 'parts' is required for numbers answers and only for them")
        if item.value is not None and bool(item.value.parts) != (item.value.type == "numbers"):
            fail(f"{item.code}: value 'parts' is required for numbers values and only for them")
        if item.parent is not None and item.parent not in codes:
            fail(f"{item.code}: parent {item.parent!r} is not an item")
        for parts in (item.parts, item.value.parts if item.value else ()):
            keys = [part.key for part in parts]
            if len(set(keys)) != len(keys):
                fail(f"{item.code}: duplicate part keys")
            for part in parts:
                if part.at_most is not None and part.at_most not in keys:
                    fail(f"{item.code}: part {part.key!r} refers to unknown part {part.at_most!r}")


def load_templates() -> dict[str, ChecklistTemplate]:
    """Every bundled checklist template, keyed by template id."""
    return {template.id: template for template in _bundled_templates()}


def template_for_site_kind(kind: str) -> ChecklistTemplate:
    """The newest template whose ``site_kinds`` include ``kind``."""
    matching = [t for t in _bundled_templates() if kind in t.site_kinds]
    if not matching:
        raise TemplateNotFoundError(
            "unknown_site_kind",
            f"No checklist template covers site kind {kind!r}.",
            {"site_kind": kind},
        )
    return max(matching, key=lambda t: t.version)


# --------------------------------------------------------------------------
# Validating one answer


def validate_answer(
    template: ChecklistTemplate, item_code: str, answer: Any, value: Any = None
) -> None:
    """Raise AnswerError unless ``answer`` (and ``value``, if given) fit the item."""
    item = template.item(item_code)
    if item is None:
        raise AnswerError(
            "unknown_template_item",
            f"Template {template.id} has no item {item_code!r}.",
            {"item_code": item_code, "template_id": template.id},
        )
    _check_answer(item, answer)
    if value is not None:
        _check_value(item, value)


def _check_answer(item: ChecklistItem, answer: Any) -> None:
    code = item.code
    if item.answer in _CHOICES:
        allowed = _CHOICES[item.answer]
        if not isinstance(answer, str) or answer not in allowed:
            raise AnswerError(
                "invalid_answer",
                f"Item {code} takes one of {', '.join(allowed)}; got {answer!r}.",
                {"item_code": code, "allowed": list(allowed), "answer": answer},
            )
    elif item.answer == "number":
        _check_number(
            code, answer, lo=item.min, hi=item.max, integer=item.integer, type_code="invalid_answer"
        )
    elif item.answer == "numbers":
        _check_parts(code, answer, item.parts, type_code="invalid_answer")
    elif not isinstance(answer, str):
        raise AnswerError(
            "invalid_answer",
            f"Item {code} takes text; got {answer!r}.",
            {"item_code": code, "answer": answer},
        )


def _check_value(item: ChecklistItem, value: Any) -> None:
    code = item.code
    spec = item.value
    if spec is None:
        raise AnswerError(
            "invalid_value",
            f"Item {code} takes no extra value; got {value!r}.",
            {"item_code": code, "value": value},
        )
    if spec.type == "number":
        _check_number(
            code, value, lo=spec.min, hi=spec.max, integer=spec.integer, type_code="invalid_value"
        )
    elif spec.type == "numbers":
        _check_parts(code, value, spec.parts, type_code="invalid_value")
    elif spec.type == "text":
        if not isinstance(value, str):
            _bad_value(code, value, "text")
    elif spec.type == "date":
        is_date = isinstance(value, str) and _DATE.fullmatch(value) is not None
        if not (is_date and _parses(dt.date.fromisoformat, value)):
            _bad_value(code, value, "a date written YYYY-MM-DD")
    elif spec.type == "month":
        if not (isinstance(value, str) and _MONTH.fullmatch(value) and 1 <= int(value[5:]) <= 12):
            _bad_value(code, value, "a month written YYYY-MM")


def _parses(parse: Any, text: str) -> bool:
    try:
        parse(text)
    except ValueError:
        return False
    return True


def _bad_value(item_code: str, value: Any, expected: str) -> None:
    raise AnswerError(
        "invalid_value",
        f"Item {item_code} takes {expected} as its value; got {value!r}.",
        {"item_code": item_code, "value": value, "expected": expected},
    )


def _check_number(
    item_code: str,
    number: Any,
    *,
    lo: Number | None,
    hi: Number | None,
    integer: bool,
    type_code: str,
    part: str | None = None,
) -> None:
    details: dict[str, Any] = {"item_code": item_code, "got": number}
    if part is not None:
        details["part"] = part
    where = f"Item {item_code}" + (f" part {part}" if part else "")
    is_number = isinstance(number, (int, float)) and not isinstance(number, bool)
    if not is_number or not math.isfinite(number):
        raise AnswerError(type_code, f"{where} takes a number; got {number!r}.", details)
    if integer and not float(number).is_integer():
        raise AnswerError(type_code, f"{where} takes a whole number; got {number!r}.", details)
    if lo is not None and number < lo:
        if number < 0 <= lo:
            message = f"{where} cannot be negative; got {number!r}."
            raise AnswerError("negative_value", message, details | {"min": lo})
        message = f"{where} must be at least {lo}; got {number!r}."
        raise AnswerError("out_of_range", message, details | {"min": lo})
    if hi is not None and number > hi:
        message = f"{where} must be at most {hi}; got {number!r}."
        raise AnswerError("out_of_range", message, details | {"max": hi})


def _check_parts(
    item_code: str, numbers: Any, parts: tuple[ValuePart, ...], *, type_code: str
) -> None:
    keys = [part.key for part in parts]
    if not isinstance(numbers, dict):
        raise AnswerError(
            type_code,
            f"Item {item_code} takes numbers for {', '.join(keys)}; got {numbers!r}.",
            {"item_code": item_code, "parts": keys, "got": numbers},
        )
    unknown = sorted(str(k) for k in numbers if k not in keys)
    missing = [k for k in keys if k not in numbers]
    if unknown or missing:
        raise AnswerError(
            type_code,
            f"Item {item_code} takes numbers for exactly {', '.join(keys)}.",
            {
                "item_code": item_code,
                "parts": keys,
                "unknown_parts": unknown,
                "missing_parts": missing,
            },
        )
    for part in parts:
        _check_number(
            item_code,
            numbers[part.key],
            lo=part.min,
            hi=part.max,
            integer=part.integer,
            type_code=type_code,
            part=part.key,
        )
    for part in parts:
        if part.at_most is not None and numbers[part.key] > numbers[part.at_most]:
            raise AnswerError(
                "out_of_range",
                f"Item {item_code} part {part.key} cannot exceed {part.at_most}.",
                {
                    "item_code": item_code,
                    "part": part.key,
                    "got": numbers[part.key],
                    "max": numbers[part.at_most],
                    "at_most": part.at_most,
                },
            )


# --------------------------------------------------------------------------
# Reading a whole inspection


def _answer_of(answers: dict[str, dict], code: str | None) -> Any:
    """The recorded answer for ``code``; None when unanswered (blank text counts as unanswered)."""
    if code is None:
        return None
    entry = answers.get(code)
    if not isinstance(entry, dict):
        return None
    answer = entry.get("answer")
    if isinstance(answer, str) and not answer.strip():
        return None
    return answer


def missing_for_submit(
    template: ChecklistTemplate, answers: dict[str, dict], photo_counts: dict[str, int]
) -> list[dict[str, str]]:
    """What still blocks submitting this inspection, in template order.

    Every item needs an answer, except a sub-item (``with``) whose parent was
    answered "no". An item whose photo is "required" needs at least one photo
    unless it was answered "na"; sub-items are covered by their parent's photo.
    """
    blocking: list[dict[str, str]] = []
    for item in template.items:
        answer = _answer_of(answers, item.code)
        excused = item.parent is not None and _answer_of(answers, item.parent) == "no"
        if answer is None and not excused:
            blocking.append({"item_code": item.code, "reason": "unanswered"})
        if item.photo == "required" and answer != "na" and photo_counts.get(item.code, 0) < 1:
            blocking.append({"item_code": item.code, "reason": "photo_required"})
    return blocking


def _as_count(number: Any) -> int | None:
    if isinstance(number, bool) or not isinstance(number, (int, float)):
        return None
    if not math.isfinite(number) or number < 0 or not float(number).is_integer():
        return None
    return int(number)


def headcounts(template: ChecklistTemplate, answers: dict[str, dict]) -> dict[str, int | None]:
    """Worker counts found through the ``headcount`` markers, None where unknown.

    Keys are every HEADCOUNT_KINDS entry: on_site, real_name, contracts,
    migrant, interviewed. A ``number`` item marked with a kind gives its
    answer; a ``numbers`` item gives each part marked with a kind.
    """
    counts: dict[str, int | None] = dict.fromkeys(HEADCOUNT_KINDS)
    for item in template.items:
        answer = _answer_of(answers, item.code)
        if item.answer == "number" and item.headcount is not None:
            counts[item.headcount] = _as_count(answer)
        elif item.answer == "numbers":
            for part in item.parts:
                if part.headcount is not None:
                    counts[part.headcount] = _as_count(
                        answer.get(part.key) if isinstance(answer, dict) else None
                    )
    return counts


def six_systems(template: ChecklistTemplate, answers: dict[str, dict]) -> dict[str, bool | None]:
    """Whether each of the 六项制度 marked in the template is in place.

    For a yes/no item: True when the answer is the item's ``good`` answer,
    False when it is the other of yes/no, None when unanswered or answered
    "na"/"exempt" (not applicable, so left out of rates). For a ``number``
    item (real-name registration, C10): True when its headcount covers the
    workers on site, None when either count is missing or nobody is on site.
    Templates without markers (enterprise) give an empty dict.
    """
    counts = headcounts(template, answers)
    systems: dict[str, bool | None] = {}
    for item in template.items:
        if item.six_systems is None:
            continue
        answer = _answer_of(answers, item.code)
        in_place: bool | None = None
        if item.good is not None:
            if answer in ("yes", "no"):
                in_place = answer == item.good
        elif item.answer == "number" and item.headcount is not None:
            covered, on_site = counts[item.headcount], counts["on_site"]
            if covered is not None and on_site:
                in_place = covered >= on_site
        systems[item.six_systems] = in_place
    return systems
