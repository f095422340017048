"""The inspection wizard: one step per template group, autosave, typed-number
checks, GPS fixes, photos, and the returned (退回) state.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from field_app.core import Device
from shared_schema import risk
from shared_schema.checklists import (
    AnswerError,
    ChecklistItem,
    ChecklistTemplate,
    headcounts,
    missing_for_submit,
    validate_answer,
)

from field_app.ui.kit.rules import UiError

from .common import FieldError, check_number_text, current_user
from field_app.ui.kit.rules import CHINA


def answer_error(template: ChecklistTemplate, item: ChecklistItem, answer: Any,
                 value: Any = None) -> FieldError | None:
    """The shared answer rules (``validate_answer``, as the device and the
    server apply them) as an error for the field, or None when it fits."""
    try:
        validate_answer(template, item.code, answer, value)
    except AnswerError as exc:
        d = exc.details
        part = d.get("part")
        if exc.code == "negative_value":
            return FieldError("err.negative", part=part)
        if d.get("at_most"):
            parts = {p.key: p for p in item.parts}
            small, big = parts.get(part), parts.get(d["at_most"])
            if small is not None and big is not None and (small.headcount, big.headcount) == (
                    "migrant", "on_site"):
                return FieldError("err.migrant_gt_on_site", part=part)
            if small is not None and big is not None:
                return FieldError("err.at_most", {
                    "part": {"zh": small.label.zh, "en": small.label.en},
                    "other": {"zh": big.label.zh, "en": big.label.en}}, part=part)
            return FieldError("err.out_of_range", part=part)
        if exc.code == "out_of_range":
            return FieldError("err.out_of_range", part=part)
        return FieldError("err.invalid_value", part=part)
    return None


# GPS: the inspection's stored location, and what the screen says about it

STALE_FIX_MS = 2 * 60_000  # a cached fix older than this is never shown as current


def better_fix(stored: dict[str, Any], accuracy: float | None) -> bool:
    """Whether a new fix should replace the inspection's stored location: when
    none is stored, when the stored one has no accuracy, or when the new radius
    is as small or smaller (the best fix wins; an equal one is the newer)."""
    if stored.get("lat") is None or stored.get("lon") is None:
        return True
    old = stored.get("accuracy_m")
    if old is None:
        return True
    return accuracy is not None and accuracy <= old


@dataclass(frozen=True)
class GpsShown:
    state: str  # "saved" (the stored fields), "stale" (an old cached fix, not used), "missing"
    lat: float | None = None
    lon: float | None = None
    accuracy: float | None = None
    at: int | None = None
    age_ms: int | None = None


def gps_shown(record: dict[str, Any], now: int,
              cached: tuple[float, float, float | None, int] | None = None) -> GpsShown:
    """What the inspection screen shows: the stored location (exactly what the
    office sees), else 未定位, with an older cached fix named as stale and its
    age (never as the inspection's location)."""
    if record.get("lat") is not None and record.get("lon") is not None:
        return GpsShown("saved", record["lat"], record["lon"], record.get("accuracy_m"),
                        record.get("located_at"))
    if cached is not None:
        return GpsShown("stale", cached[0], cached[1], cached[2], cached[3],
                        max(0, now - cached[3]))
    return GpsShown("missing")


def waiting(device: Device, entity: str, entity_id: str) -> bool:
    """Whether a change of this record still waits in the outbox."""
    return device.in_outbox(entity, entity_id)


def review_label(insp: dict[str, Any], waiting_changes: bool) -> str | None:
    """The i18n key of an inspection's review badge: none for a draft (草稿 is
    its state, not 待审核), 退回 while returned, 已重新提交 once a returned one
    was submitted again and waits to reach the server."""
    if insp.get("state") != "submitted":
        return None
    review = insp.get("review_state") or "pending"
    if review == "rejected" and waiting_changes:
        return "insp.resubmitted"
    return f"review.{review}"


@dataclass
class WizardStep:
    code: str
    label: dict[str, str]  # {"zh": …, "en": …}
    items: list[ChecklistItem]


#: items that reveal unpaid workers, and the part that counts them (登记欠薪线索)
ARREARS_PARTS = {"C24": "reporting_arrears", "E11": "workers_owed"}


@dataclass
class Typed:
    """Text typed into a field that is not stored, and why."""

    text: Any  # str, or {part: str} for a two-number item
    error: FieldError


class InspectionVM:
    """The inspection wizard: one step per template group, autosave on every answer."""

    def __init__(self, device: Device, insp_id: str,
                 invalid: dict[str, "Typed"] | None = None) -> None:
        self.device = device
        self.id = insp_id
        self.step = 0
        #: typed text that is not stored (key: item code, or "<code>.value"),
        #: kept until fixed; the caller may pass a dict that outlives the view
        self.invalid: dict[str, Typed] = {} if invalid is None else invalid
        self.reload()

    def reload(self) -> None:
        self.record = self.device.get("inspection", self.id) or {}
        self.template: ChecklistTemplate = self.device.template(self.record["template_id"])
        self.site = self.device.get("site", self.record.get("site_id") or "") or {}
        self.photo_counts = self.device.photo_counts(self.id)
        self.steps = [WizardStep(g.code, {"zh": g.label.zh, "en": g.label.en},
                                 [i for c in g.items if (i := self.template.item(c))])
                      for g in self.template.groups]
        grouped = {c for g in self.template.groups for c in g.items}
        rest = [i for i in self.template.items if i.code not in grouped]
        if rest:
            self.steps.append(WizardStep("other", {"zh": "其他", "en": "Other"}, rest))

    @property
    def answers(self) -> dict[str, dict]:
        return self.record.get("answers") or {}

    @property
    def read_only(self) -> bool:
        return self.record.get("state") == "submitted"

    def entry(self, code: str) -> dict[str, Any]:
        return dict(self.answers.get(code) or {})

    def answer(self, code: str, answer: Any = None, value: Any = None, note: Any = None,
               keep: bool = True) -> None:
        """Autosave one answer. With ``keep`` the parts not given (value, note)
        stay as they were."""
        old = self.entry(code)
        if keep:
            answer = old.get("answer") if answer is None else answer
            value = old.get("value") if value is None else value
            note = old.get("note") if note is None else note
        if answer is None:
            raise UiError("invalid_answer", "answer the item first", item_code=code)
        if code in risk.RECTIFICATION_ITEMS and not value and self.template.item(code) and \
                isinstance(answer, str) and answer.strip().lower() not in risk.NOTHING:
            value = self.default_deadline()  # editable; the server uses the same default
        self.device.answer(self.id, code, answer, value=value or None, note=note or None)
        self.record = self.device.get("inspection", self.id) or self.record

    # typed numbers: checked first; bad text is kept and shown, never stored ---------------
    def check_number(self, code: str, text: str) -> tuple[Any, FieldError | None]:
        item = self.template.item(code)
        assert item is not None
        number, err = check_number_text(text, item.integer)
        if err is None:
            err = answer_error(self.template, item, number)
        return (None, err) if err else (number, None)

    def check_parts(self, code: str, texts: dict[str, str]) -> tuple[Any, FieldError | None]:
        item = self.template.item(code)
        assert item is not None
        parts = {}
        for part in item.parts:
            number, err = check_number_text(texts.get(part.key, ""), part.integer)
            if err is not None:
                return None, FieldError(err.key, err.args, part=part.key)
            parts[part.key] = number
        err = answer_error(self.template, item, parts)
        return (None, err) if err else (parts, None)

    def stage(self, code: str, text: str | dict[str, str]) -> FieldError | None:
        """Check what was typed into a number item (or its parts) at once:
        an error is remembered with the text (``invalid``) and returned; a fit
        clears it. Nothing is stored here (``answer_number``/``answer_parts``
        store, debounced by the view)."""
        if self._blank_and_unanswered(code, text):
            self._mark(code, text, None)
            return None
        _, err = (self.check_parts(code, text) if isinstance(text, dict)
                  else self.check_number(code, text))
        self._mark(code, text, err)
        return err

    def _blank_and_unanswered(self, code: str, text: str | dict[str, str]) -> bool:
        """Nothing typed into an item never answered: unanswered, not invalid."""
        texts = text.values() if isinstance(text, dict) else [text]
        return (not any((t or "").strip() for t in texts)
                and self.entry(code).get("answer") is None)

    def _mark(self, key: str, text: Any, err: FieldError | None) -> None:
        if err is None:
            self.invalid.pop(key, None)
        else:
            self.invalid[key] = Typed(text, err)

    def answer_number(self, code: str, text: str) -> FieldError | None:
        """Store a typed number, or keep the text as invalid (nothing stored)."""
        if self._blank_and_unanswered(code, text):
            self._mark(code, text, None)
            return None
        number, err = self.check_number(code, text)
        self._mark(code, text, err)
        if err is None:
            self.answer(code, number)
        return err

    def answer_parts(self, code: str, texts: dict[str, str]) -> FieldError | None:
        if self._blank_and_unanswered(code, texts):
            self._mark(code, dict(texts), None)
            return None
        parts, err = self.check_parts(code, texts)
        self._mark(code, dict(texts), err)
        if err is None:
            self.answer(code, parts)
        return err

    def set_value(self, code: str, text: str) -> FieldError | None:
        """The item's extra value (bank, amount, month …): saved with the answer,
        or kept as invalid text with the reason."""
        item = self.template.item(code)
        if item is None or item.value is None:
            return None
        key = f"{code}.value"
        entry = self.entry(code)
        value: Any = text.strip() or None
        err: FieldError | None = None
        if entry.get("answer") is None:
            err = FieldError("err.answer_first")
        elif value is not None and item.value.type == "number":
            value, err = check_number_text(text, item.value.integer)
        if err is None and value is not None:
            err = answer_error(self.template, item, entry["answer"], value)
            if err is not None and item.value.type in ("date", "month"):
                err = FieldError("err.date_format" if item.value.type == "date"
                                 else "err.month_format")
        self._mark(key, text, err)
        if err is not None:
            return err
        self.device.answer(self.id, code, entry["answer"], value=value,
                           note=entry.get("note"))
        self.record = self.device.get("inspection", self.id) or self.record
        return None

    def set_note(self, code: str, text: str) -> None:
        entry = self.entry(code)
        if entry.get("answer") is None:
            raise UiError("invalid_answer", "answer the item first", item_code=code)
        self.device.answer(self.id, code, entry["answer"], value=entry.get("value"),
                           note=text.strip() or None)
        self.record = self.device.get("inspection", self.id) or self.record

    location: tuple[float, float, float | None] | None = None  # lat, lon, accuracy (m)

    def set_location(self, lat: float, lon: float, accuracy: float | None) -> None:
        """The latest GPS fix: it tags the photos taken from now on."""
        self.location = (lat, lon, accuracy)

    def note_fix(self, lat: float, lon: float, accuracy: float | None, at_ms: int) -> bool:
        """A fix obtained while the inspection is open: it tags the next photos,
        and becomes the inspection's stored location when it is the best one
        so far (``better_fix``). True when it was stored."""
        self.set_location(lat, lon, accuracy)
        if self.read_only or not better_fix(self.record, accuracy):
            return False
        self.device.set_inspection_location(self.id, lat, lon, accuracy, at_ms)
        self.record = self.device.get("inspection", self.id) or self.record
        return True

    def gps(self, now: int, cached: tuple[float, float, float | None, int] | None = None
            ) -> "GpsShown":
        return gps_shown(self.record, now, cached)

    # returned (退回) -----------------------------------------------------------------------
    @property
    def returned(self) -> bool:
        return self.record.get("review_state") == "rejected"

    def can_reopen(self) -> bool:
        me = current_user(self.device).get("id")
        return (self.returned and self.record.get("state") == "submitted"
                and self.record.get("inspector_id") == me
                and not waiting(self.device, "inspection", self.id))

    def reopen(self) -> None:
        self.device.reopen_inspection(self.id)
        self.reload()

    def add_photo(self, data: bytes | str, code: str | None, caption: str | None = None) -> str:
        lat = lon = None
        if self.location:
            lat, lon = self.location[0], self.location[1]
        pid = self.device.attach_photo(self.id, data, item_code=code, caption=caption,
                                       lat=lat, lon=lon)
        self.photo_counts = self.device.photo_counts(self.id)
        return pid

    def photos(self, code: str | None) -> list[dict[str, Any]]:
        return [p for p in self.device.photos(self.id) if (p.get("item_code") or None) == code]

    def photo_file(self, photo: dict[str, Any]) -> Path | None:
        """The photo's file on this phone (the full-size view opens it offline),
        or None when it is not here (taken on another phone, not downloaded)."""
        path = self.device.photo_path(photo.get("sha256") or "")
        return path if path.exists() else None

    def can_change_photos(self) -> bool:
        """Photos are deleted or replaced while the inspection is editable by
        its author: a draft, or a returned one reopened."""
        me = current_user(self.device).get("id")
        return not self.read_only and self.record.get("inspector_id") == me

    def delete_photo(self, photo_id: str) -> None:
        """Delete one photo (the user confirmed): the item's count and the
        missing list change at once."""
        self.device.delete_photo(photo_id)
        self.photo_counts = self.device.photo_counts(self.id)

    def replace_photo(self, photo_id: str, data: bytes | str) -> str:
        """Replace a photo: the new one is stored first (same item and caption),
        then the old one deleted, so a picture that cannot be read leaves the
        old photo as it was. Returns the new photo's id."""
        old = self.device.get("photo", photo_id)
        if not old or old.get("deleted"):
            raise UiError("unknown_photo", "no such photo", id=photo_id)
        new_id = self.add_photo(data, old.get("item_code"), caption=old.get("caption"))
        self.delete_photo(photo_id)
        return new_id

    def missing(self) -> list[dict[str, str]]:
        """What blocks submitting: the shared rules, plus every field whose
        typed text is invalid (it is not stored, so it cannot be submitted)."""
        out = missing_for_submit(self.template, self.answers, self.photo_counts)
        bad = {k.split(".")[0] for k in self.invalid}
        out = [m for m in out if not (m["item_code"] in bad and m["reason"] == "unanswered")]
        order = {i.code: n for n, i in enumerate(self.template.items)}
        out += [{"item_code": code, "reason": "invalid"} for code in bad]
        out.sort(key=lambda m: order.get(m["item_code"], 0))
        return out

    def step_of(self, code: str) -> int | None:
        """The wizard step holding an item (the missing list jumps there)."""
        for n, step in enumerate(self.steps):
            if any(i.code == code for i in step.items):
                return n
        return None

    def step_missing(self, index: int) -> int:
        codes = {i.code for i in self.steps[index].items}
        return sum(1 for m in self.missing() if m["item_code"] in codes)

    def headcounts(self) -> dict[str, int | None]:
        return headcounts(self.template, self.answers)

    def failed(self, code: str) -> bool:
        """A failed answer: a yes/no item answered against its ``good`` answer,
        or an arrears item (C24, E11) where workers report unpaid wages."""
        item = self.template.item(code)
        ans = self.entry(code).get("answer")
        if item is None or ans is None:
            return False
        if item.good is not None:
            return ans in ("yes", "no") and ans != item.good
        return self.arrears_reported(code)

    def arrears_reported(self, code: str) -> bool:
        part = ARREARS_PARTS.get(code)
        ans = self.entry(code).get("answer")
        return bool(part and isinstance(ans, dict) and (ans.get(part) or 0) > 0)

    def rest_compliant(self, index: int) -> list[str]:
        """The unanswered yes/no items of a step ("其余全部符合" answers them
        with their compliant answer)."""
        return [i.code for i in self.steps[index].items
                if i.good is not None and self.entry(i.code).get("answer") is None
                and i.code not in self.invalid]

    def answer_rest_compliant(self, index: int) -> list[str]:
        codes = self.rest_compliant(index)
        for code in codes:
            item = self.template.item(code)
            assert item is not None and item.good is not None
            self.answer(code, item.good)
        return codes

    def photos_taken(self) -> int:
        return sum(self.photo_counts.values())

    def photos_required(self) -> int:
        """Items whose photo is required (and not answered 不适用)."""
        return sum(1 for i in self.template.items if i.photo == "required"
                   and self.entry(i.code).get("answer") != "na")

    def answered(self) -> int:
        return sum(1 for i in self.template.items if self.entry(i.code).get("answer") is not None)

    def submit(self) -> list[dict[str, str]]:
        """Submit; returns what is missing (empty: submitted)."""
        missing = self.missing()
        if missing:
            return missing
        self.device.submit_inspection(self.id)
        self.record = self.device.get("inspection", self.id) or self.record
        return []


# ---------------------------------------------------------------------------------------

    # --- #17 warnings: risk, a case on the spot, the header, the 复查 task ------------------
    def default_deadline(self) -> str:
        """整改期限 when none is typed: ``risk.DEFAULT_DAYS`` after today (China)."""
        today = dt.datetime.fromtimestamp(self.device.settings.now_ms() / 1000, CHINA).date()
        return risk.default_due(today)

    def risk(self) -> risk.RiskAssessment:
        """What the answers so far reveal (the server raises the same warning on submit)."""
        return risk.assess(self.answers)

    def risk_items(self) -> set[str]:
        return {r.item_code for r in self.risk().reasons}

    def case_draft(self) -> dict[str, Any]:
        """The new-case form's prefill (site, employer, workers, amount…)."""
        return risk.case_draft(self.site, self.answers)

    def header_rows(self) -> list[HeaderRow]:
        """The template's header (v2 says where each value is kept): the site's
        facts shown, the inspection's own typed here; v1 headers show nothing."""
        rows = []
        for h in self.template.header:
            if not h.field or "." not in h.field:
                continue
            where, name = h.field.split(".", 1)
            source = self.site if where == "site" else self.record
            rows.append(HeaderRow(h.code, {"zh": h.label.zh, "en": h.label.en}, name,
                                  source.get(name), where == "inspection"))
        return rows

    def set_header(self, name: str, text: str) -> None:
        self.device.set_inspection_fields(self.id, **{name: text})
        self.record = self.device.get("inspection", self.id) or self.record

    def reinspection_task(self) -> dict[str, Any] | None:
        """The 复查 task this inspection checks again, if any."""
        task_id = self.record.get("reinspection_of")
        return self.device.get("reinspection", task_id) if task_id else None


@dataclass(frozen=True)
class HeaderRow:
    code: str
    label: dict[str, str]
    field: str
    value: Any
    editable: bool

