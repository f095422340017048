"""View-models: the UI's logic as plain Python over ``field_app.core.Device``.

Nothing here imports Flet. Views read these objects and call their methods;
tests drive them directly (conventions §11). Pure helpers (due this month,
filtering, deadlines, allowed transitions, intake validation) take plain
values so they can be table-tested.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from shared_schema import fields as field_rules

from shared_schema.case_sources import FIELD_SOURCES
from shared_schema.calendar import WorkCalendar, case_deadlines
from shared_schema.calendar import packaged as packaged_calendar
from shared_schema.cases import FINAL_STATUSES, TRANSITIONS, CaseState, allowed_kinds
from shared_schema.entities import SITE_KINDS as SITE_KINDS  # the views read it from here
from shared_schema.checklists import (
    AnswerError,
    ChecklistItem,
    ChecklistTemplate,
    headcounts,
    missing_for_submit,
    six_systems,
    validate_answer,
)

from field_app.core import Device, DeviceError, SyncProgress, SyncReport


class UiError(DeviceError):
    """A refusal by the UI itself (not the device engine); shown as a snackbar."""

CHINA = dt.timezone(dt.timedelta(hours=8))  # no DST: a fixed offset is exact
ACTIVE_SITE_STATUSES = (None, "active")


def now_ms() -> int:
    return int(time.time() * 1000)


def month_of(ms: int | None, tz: dt.tzinfo = CHINA) -> tuple[int, int] | None:
    if ms is None:
        return None
    d = dt.datetime.fromtimestamp(ms / 1000, tz)
    return d.year, d.month


# ---------------------------------------------------------------------------------------
# Pure rules


def is_due(site: dict[str, Any], inspections: Iterable[dict[str, Any]], at_ms: int,
           tz: dt.tzinfo = CHINA) -> bool:
    """"Due" (本月待巡查): an active construction project not inspected this month.

    Inspected means the registry's ``last_inspected_at`` (set by the office on
    approval) or a *submitted* inspection of the site, in the current calendar
    month (China time). Drafts do not count.
    """
    if site.get("kind") != "construction" or site.get("status") not in ACTIVE_SITE_STATUSES:
        return False
    this_month = month_of(at_ms, tz)
    if month_of(site.get("last_inspected_at"), tz) == this_month:
        return False
    for insp in inspections:
        if insp.get("state") == "submitted" and month_of(
                insp.get("submitted_at") or insp.get("started_at"), tz) == this_month:
            return False
    return True


@dataclass(frozen=True)
class Deadline:
    kind: str  # "accept" (5 working days) or "conclude" (60, +30 once extended)
    due: dt.date
    overdue: bool
    days_left: int  # working days; negative once overdue


def case_deadline(case: dict[str, Any], extended: bool, today: dt.date,
                  cal: WorkCalendar | None = None) -> Deadline | None:
    """The case's next deadline over the working-day calendar (weekends, public
    holidays and make-up days; the same rules as the office ledger,
    ``shared_schema.calendar``): accept within 5 working days of registration,
    conclude within 60 working days of acceptance (90 once extended). None when
    the case has no open deadline (final, resolved, or not yet synced)."""
    cal = cal or packaged_calendar()
    status = case.get("status") or "registered"
    if status not in ("registered", "accepted"):
        return None
    noon = dt.datetime.combine(today, dt.time(12), CHINA)
    d = case_deadlines(cal, {**case, "extended": extended}, int(noon.timestamp() * 1000))
    due = d.accept_due if status == "registered" else d.conclude_due
    if due is None or d.working_days_left is None:
        return None
    return Deadline("accept" if status == "registered" else "conclude",
                    dt.date.fromisoformat(due), d.overdue, d.working_days_left)


def case_state(case: dict[str, Any], events: Iterable[dict[str, Any]]) -> CaseState:
    return CaseState(status=case.get("status") or "registered",
                     level=case.get("level") or "village",
                     extended=any(e.get("kind") == "extend" for e in events))


def allowed_transitions(case: dict[str, Any], events: Iterable[dict[str, Any]],
                        role: str | None) -> list[str]:
    """The event kinds this role may add now (shared_schema.cases.allowed_kinds)."""
    return allowed_kinds(case_state(case, list(events)), role or "")


def required_fields(kind: str) -> list[str]:
    """Field names an event kind needs; "a|b" means either."""
    return list(TRANSITIONS[kind].requires) if kind in TRANSITIONS else []


INTAKE_NUMBERS = {"workers_owed": int, "amount_owed": float}
#: a mainland mobile number (11 digits from 1) or a landline with its area code
PHONE = re.compile(r"1[3-9]\d{9}|0\d{2,3}\d{7,8}")


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


def employer_for(site: dict[str, Any]) -> str:
    """The case form's employer, pre-filled from the site: a factory or a firm
    is the employer itself; on a construction project it is the contractor."""
    if site.get("kind") == "construction":
        return site.get("contractor") or ""
    return site.get("name") or ""


def text_limit(entity: str, name: str) -> int | None:
    """The longest text a field takes, in characters (``shared_schema.fields``,
    the server's limit): the form shows it with a counter."""
    rule = field_rules.rule_for(entity, name)
    return rule.max_chars if rule is not None else None


def parse_intake(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Case intake form → (fields for ``Device.open_case``, errors by field as
    i18n keys). Title or employer is required, as is the sector; counts are
    non-negative; months are YYYY-MM."""
    fields: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, value in raw.items():
        if isinstance(value, str):
            value = value.strip()
        if value in (None, ""):
            continue
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


# ---------------------------------------------------------------------------------------
# Site list


@dataclass
class SiteRow:
    id: str
    name: str
    kind: str
    village_id: str | None
    village: str
    address: str
    gov_invested: bool
    due: bool
    open_cases: int
    unsynced: int
    haystack: str  # lower-cased text the search matches
    returned: int = 0  # my inspections the office returned (退回), not yet reopened


@dataclass
class SiteFilter:
    query: str = ""
    village_id: str | None = None
    kind: str | None = None
    gov_invested: bool | None = None
    due_only: bool = False


def filter_sites(rows: list[SiteRow], f: SiteFilter) -> list[SiteRow]:
    """The rows matching every filter; the query matches name, address,
    builder, contractor and village (case-insensitive, every word)."""
    words = f.query.lower().split()
    out = []
    for r in rows:
        if f.village_id and r.village_id != f.village_id:
            continue
        if f.kind and r.kind != f.kind:
            continue
        if f.gov_invested is not None and r.gov_invested != f.gov_invested:
            continue
        if f.due_only and not r.due:
            continue
        if words and not all(w in r.haystack for w in words):
            continue
        out.append(r)
    return out


def pending_by_record(device: Device) -> dict[tuple[str, str], int]:
    """Waiting changes (outbox + open quarantine) per (entity, id), read from
    the device's store."""
    counts: dict[tuple[str, str], int] = {}
    with device.store.read() as tx:
        for sql in ("SELECT entity, entity_id, COUNT(*) FROM outbox GROUP BY 1, 2",
                    "SELECT entity, entity_id, COUNT(*) FROM quarantine "
                    "WHERE state='open' AND entity IS NOT NULL GROUP BY 1, 2"):
            for entity, entity_id, n in tx.q(sql).fetchall():
                counts[(entity, entity_id)] = counts.get((entity, entity_id), 0) + n
    return counts


def build_site_rows(sites: list[dict], villages: list[dict], inspections: list[dict],
                    cases: list[dict], photos: list[dict], events: list[dict],
                    pending: dict[tuple[str, str], int], at_ms: int,
                    me: str | None = None) -> list[SiteRow]:
    """Pure: one row per site with its badges."""
    returned: dict[str, int] = {}
    for i in returned_to(inspections, me):
        returned[i.get("site_id")] = returned.get(i.get("site_id"), 0) + 1
    village_names = {v["id"]: v.get("name") or "" for v in villages}
    insp_by_site: dict[str, list[dict]] = {}
    insp_site: dict[str, str] = {}
    for i in inspections:
        insp_by_site.setdefault(i.get("site_id"), []).append(i)
        insp_site[i["id"]] = i.get("site_id")
    case_site = {c["id"]: c.get("site_id") for c in cases}
    open_cases: dict[str, int] = {}
    for c in cases:
        if c.get("status") not in FINAL_STATUSES and c.get("site_id"):
            open_cases[c["site_id"]] = open_cases.get(c["site_id"], 0) + 1
    unsynced: dict[str, int] = {}

    def bump(site_id: str | None, n: int) -> None:
        if site_id:
            unsynced[site_id] = unsynced.get(site_id, 0) + n

    owner_site = {**insp_site, **case_site}
    event_case = {e["id"]: e.get("case_id") for e in events}
    photo_owner = {p["id"]: p.get("owner_id") for p in photos}
    for (entity, rid), n in pending.items():
        if entity == "site":
            bump(rid, n)
        elif entity in ("inspection", "case"):
            bump(owner_site.get(rid), n)
        elif entity == "case_event":
            bump(case_site.get(event_case.get(rid)), n)
        elif entity == "photo":
            owner = photo_owner.get(rid)
            bump(owner if owner not in owner_site else owner_site.get(owner), n)
    rows = []
    for s in sites:
        village = village_names.get(s.get("village_id"), "")
        hay = " ".join(str(s.get(k) or "") for k in ("name", "address", "builder", "contractor"))
        rows.append(SiteRow(
            id=s["id"], name=s.get("name") or "", kind=s.get("kind") or "other",
            village_id=s.get("village_id"), village=village, address=s.get("address") or "",
            gov_invested=bool(s.get("gov_invested")),
            due=is_due(s, insp_by_site.get(s["id"], ()), at_ms),
            open_cases=open_cases.get(s["id"], 0), unsynced=unsynced.get(s["id"], 0),
            haystack=f"{hay} {village}".lower(), returned=returned.get(s["id"], 0)))
    return rows


def returned_to(inspections: Iterable[dict[str, Any]], me: str | None) -> list[dict[str, Any]]:
    """退回给我: my inspections the office returned, not yet submitted again."""
    return [i for i in inspections if i.get("review_state") == "rejected"
            and i.get("state") == "submitted" and me and i.get("inspector_id") == me]


class SiteListVM:
    """Home: my sites, filtered in memory (fast enough per keystroke: see bench/)."""

    def __init__(self, device: Device | None = None, clock: Callable[[], int] = now_ms) -> None:
        self.device = device
        self.clock = clock
        self.rows: list[SiteRow] = []
        self.filter = SiteFilter()
        self.villages: list[dict] = []
        self.returned: list[tuple[dict, str]] = []  # (inspection, site name): 退回给我

    def load(self) -> None:
        d = self.device
        assert d is not None
        self.villages = sorted(d.villages(), key=lambda v: v.get("name") or "")
        inspections = d.inspections()
        pending = pending_by_record(d)
        me = current_user(d).get("id")
        self.rows = build_site_rows(d.sites(), self.villages, inspections, d.cases(),
                                    d.records("photo"), d.records("case_event"),
                                    pending, self.clock(), me=me)
        names = {r.id: r.name for r in self.rows}
        self.returned = [(i, names.get(i.get("site_id"), "")) for i in returned_to(
            inspections, me) if not pending.get(("inspection", i["id"]))]

    def set_rows(self, rows: list[SiteRow]) -> None:
        self.rows = rows

    def visible(self) -> list[SiteRow]:
        return filter_sites(self.rows, self.filter)

    def search(self, query: str) -> list[SiteRow]:
        self.filter.query = query
        return self.visible()

    def due_count(self) -> int:
        return sum(1 for r in self.rows if r.due)


# ---------------------------------------------------------------------------------------
# Site detail


@dataclass
class SiteDetail:
    site: dict[str, Any]
    village: str
    six_systems: dict[str, bool | None]
    six_source: str | None  # id of the inspection the 六项制度 come from
    headcounts: list[dict[str, Any]]  # newest first: when, on_site, real_name, contracts
    inspections: list[dict[str, Any]]  # newest first
    open_cases: list[dict[str, Any]]
    all_cases: list[dict[str, Any]]


def site_detail(device: Device, site_id: str) -> SiteDetail:
    site = device.get("site", site_id)
    if site is None:
        raise UiError("unknown_site", f"no site {site_id} on this device")
    village = device.get("village", site.get("village_id") or "") or {}
    inspections = sorted(device.inspections(site_id),
                         key=lambda i: i.get("submitted_at") or i.get("started_at") or 0,
                         reverse=True)
    heads, systems, source = [], dict(site.get("six_systems") or {}), None
    for insp in inspections:
        try:
            tpl = device.template(insp.get("template_id") or "")
        except DeviceError:
            continue
        answers = insp.get("answers") or {}
        counts = headcounts(tpl, answers)
        if any(v is not None for v in counts.values()):
            heads.append({"at": insp.get("submitted_at") or insp.get("started_at"),
                          "on_site": counts["on_site"], "real_name": counts["real_name"],
                          "contracts": counts["contracts"], "state": insp.get("state")})
        if source is None and insp.get("review_state") == "approved":
            systems, source = six_systems(tpl, answers), insp["id"]
    cases = device.cases(site_id)
    return SiteDetail(site=site, village=village.get("name") or "", six_systems=systems,
                      six_source=source, headcounts=heads, inspections=inspections,
                      open_cases=[c for c in cases if c.get("status") not in FINAL_STATUSES],
                      all_cases=cases)


# ---------------------------------------------------------------------------------------
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
    with device.store.read() as tx:
        return tx.q("SELECT 1 FROM outbox WHERE entity = ? AND entity_id = ? LIMIT 1",
                    (entity, entity_id)).fetchone() is not None


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


# ---------------------------------------------------------------------------------------
# Inspection wizard


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
# Cases


INTAKE_FIELDS = ("title", "employer", "employer_address", "sector", "workers_owed",
                 "amount_owed", "period_from", "period_to", "work_done", "collective_risk",
                 "source", "complainant_name", "complainant_phone")
#: The case form's free-text fields: each shows a counter up to its limit (``text_limit``).
CASE_TEXT_FIELDS = ("title", "employer", "employer_address", "work_done", "complainant_name")
#: The same for a case event's texts.
EVENT_TEXT_FIELDS = ("note", "referral_target", "callback_note")
#: The case form's sources: the shared list's codes (shared_schema.case_sources).
CASE_SOURCES = FIELD_SOURCES


class CaseVM:
    def __init__(self, device: Device, case_id: str, today: Callable[[], dt.date] | None = None):
        self.device = device
        self.id = case_id
        self.today = today or (lambda: dt.datetime.now(CHINA).date())
        self.reload()

    def reload(self) -> None:
        self.case = self.device.get("case", self.id) or {}
        self.events = sorted(self.device.records("case_event", case_id=self.id),
                             key=lambda e: e.get("created_at") or 0)
        self.role = self.device.status().role

    def allowed(self) -> list[str]:
        return allowed_transitions(self.case, self.events, self.role)

    def deadline(self) -> Deadline | None:
        return case_deadline(self.case, case_state(self.case, self.events).extended,
                             self.today(), self.device.work_calendar())

    def add_event(self, kind: str, raw: dict[str, Any]) -> str:
        if kind not in self.allowed():
            raise UiError("illegal_transition", f"'{kind}' is not allowed now", kind=kind)
        fields: dict[str, Any] = {}
        for name, value in raw.items():
            if isinstance(value, str):
                value = value.strip()
            if value in (None, ""):
                continue
            if name == "amount_recovered":
                value = parse_number(str(value), False)
            elif name == "workers_paid":
                value = parse_number(str(value), True)
            if value is None:
                raise UiError("invalid_field", f"{name} is not a number", field=name)
            fields[name] = value
        event_id = self.device.add_case_event(self.id, kind, **fields)
        self.reload()
        return event_id


@dataclass
class CaseRow:
    id: str
    title: str
    site: str
    status: str
    level: str
    amount: Any
    opened_at: int | None
    deadline: Deadline | None


def case_rows(device: Device, today: dt.date | None = None) -> list[CaseRow]:
    """The cases on this phone (my villages' and the ones I registered), open
    ones first, then newest first, each with its next deadline."""
    today = today or dt.datetime.now(CHINA).date()
    sites = {s["id"]: s.get("name") or "" for s in device.sites()}
    events: dict[str, list[dict]] = {}
    for e in device.records("case_event"):
        events.setdefault(e.get("case_id") or "", []).append(e)
    cal = device.work_calendar()
    rows = []
    for c in device.cases():
        state = case_state(c, events.get(c["id"], []))
        rows.append(CaseRow(
            id=c["id"], title=c.get("title") or c.get("employer") or "—",
            site=sites.get(c.get("site_id") or "", ""), status=state.status, level=state.level,
            amount=c.get("amount_owed"), opened_at=c.get("opened_at") or c.get("created_at"),
            deadline=case_deadline(c, state.extended, today, cal)))
    rows.sort(key=lambda r: (r.status in FINAL_STATUSES, -(r.opened_at or 0)))
    return rows


def open_case(device: Device, site_id: str | None, raw: dict[str, Any]
              ) -> tuple[str | None, dict[str, str]]:
    """Validate the intake form and open the case; (case id, {}) or (None, errors)."""
    fields, errors = parse_intake(raw)
    if errors:
        return None, errors
    if site_id:
        fields["site_id"] = site_id
    fields.setdefault("opened_at", now_ms())
    return device.open_case(**fields), {}


# ---------------------------------------------------------------------------------------
# Sync


@dataclass
class SyncState:
    running: bool = False
    phase: str | None = None
    records_done: int = 0
    records_total: int | None = None
    bytes_done: int = 0
    bytes_total: int | None = None
    report: SyncReport | None = None
    last_error: str | None = None

    @property
    def records_fraction(self) -> float | None:
        if self.phase == "done":
            return 1.0
        if not self.records_total:
            return None
        return min(1.0, self.records_done / self.records_total)

    @property
    def bytes_fraction(self) -> float | None:
        if self.phase == "done":
            return 1.0
        if not self.bytes_total:
            return None
        return min(1.0, self.bytes_done / self.bytes_total)


class SyncVM:
    def __init__(self, device: Device) -> None:
        self.device = device
        self.state = SyncState()
        self.listeners: list[Callable[[SyncState], None]] = []

    def _progress(self, p: SyncProgress) -> None:
        s = self.state
        s.phase = p.phase
        if p.phase in ("push", "pull"):
            s.records_done, s.records_total = p.records_done, p.records_total
        if p.phase == "upload" or p.bytes_total:
            s.bytes_done, s.bytes_total = p.bytes_done, p.bytes_total
        for fn in list(self.listeners):
            fn(s)

    def run(self) -> SyncReport:
        """Blocking: call from a worker thread. Never raises for network trouble."""
        if self.state.running:
            raise UiError("sync_in_progress", "a sync is already running")
        self.state = SyncState(running=True, phase="pull")
        try:
            report = self.device.sync(progress=self._progress)
            self.state.report = report
            return report
        except DeviceError as exc:
            self.state.last_error = exc.message
            raise
        finally:
            self.state.running = False
            if self.state.phase != "done":
                self.state.phase = "done" if self.state.report and self.state.report.ok else (
                    self.state.phase)

    def pending(self) -> tuple[int, int, int]:
        st = self.device.status()
        return st.pending_mutations, st.pending_photos, st.quarantined


QUEUE_ORDER = ("inspection", "case", "case_event", "site", "photo")


def queue_forms(device: Device) -> dict[str, int]:
    """What waits to be sent, counted in forms (an inspection with 30 answers
    is 1 份巡查), not in field changes: records per entity in the outbox, and
    photos as the larger of photo records and photo uploads waiting."""
    with device.store.read() as tx:
        rows = tx.q("SELECT entity, COUNT(DISTINCT entity_id) FROM outbox GROUP BY 1").fetchall()
    counts = {entity: n for entity, n in rows}
    uploads = device.status().pending_photos
    counts["photo"] = max(counts.get("photo", 0), uploads)
    return {k: v for k, v in counts.items() if v}


def forms_text(t: Callable[..., str], counts: dict[str, int]) -> str:
    """2 份巡查、1 个案件、3 张照片 (or the English words)."""
    parts = []
    for entity in QUEUE_ORDER:
        if counts.get(entity):
            parts.append(t(f"queue.{entity}", n=counts[entity]))
    other = sum(n for e, n in counts.items() if e not in QUEUE_ORDER)
    if other:
        parts.append(t("queue.other", n=other))
    return ("、" if t("queue.case", n=1).startswith("1 个") else ", ").join(parts)


def sync_problem(report: SyncReport | None) -> str | None:
    """The i18n key for why a sync did not finish, from the report's error
    codes (never its English text): 无网络 when the server cannot be reached,
    a login prompt, else 服务器暂时出错."""
    if report is None or report.ok:
        return None
    if report.login_required:
        return "sync.login_required"
    codes = getattr(report, "error_codes", None) or []
    if "network" in codes or not codes:
        return "sync.offline"
    return "sync.server_down"


@dataclass(frozen=True)
class ReplacedEdit:
    field: str  # "contact_phone", "answers.C08"
    mine: Any  # what this phone sent
    kept: Any  # what the server kept (the record's value now)
    conflict_id: str


def replaced_edits(device: Device, entity: str, entity_id: str) -> list[ReplacedEdit]:
    """My offline edits of this record that the server replaced (it kept
    another value in a conflict record the office decides on): what I typed
    and what is stored now. An edit the pull shows as kept is not listed."""
    with device.store.read() as tx:
        noted = [r for r in (tx.get("replaced_edits") or [])
                 if r.get("entity") == entity and r.get("entity_id") == entity_id]
    record = device.get(entity, entity_id) or {}
    out: dict[str, ReplacedEdit] = {}
    for r in noted:
        kept: Any = record
        for part in r["field"].split("."):
            kept = kept.get(part) if isinstance(kept, dict) else None
        if kept != r.get("mine"):
            out[r["field"]] = ReplacedEdit(r["field"], r.get("mine"), kept,
                                           r.get("conflict_id") or "")
        else:
            out.pop(r["field"], None)
    return list(out.values())


def quarantine_changes(fields: dict[str, Any], typed: dict[str, str]) -> dict[str, Any]:
    """Fix-and-retry form → the changed fields, typed like the refused values
    (numbers stay numbers, yes/no stays a bool); untouched fields are left out."""
    changes: dict[str, Any] = {}
    for name, text in typed.items():
        old = fields.get(name)
        text = (text or "").strip()
        new: Any = text
        if isinstance(old, bool):
            new = text.lower() in ("1", "true", "yes", "是")
        elif isinstance(old, (int, float)):
            if not text:
                new = None
            else:
                number = parse_number(text, isinstance(old, int))
                if number is None:
                    raise UiError("invalid_field", f"{name} is not a number", field=name)
                new = number
        elif old is None and text == "":
            continue
        if new != old:
            changes[name] = new
    return changes


def current_user(device: Device) -> dict[str, Any]:
    """The logged-in (or last) user of this device: id, username, role."""
    with device.store.read() as tx:
        return dict(tx.get("user") or {})


def sync_summary_parts(report: SyncReport) -> dict[str, int]:
    return {"pushed": report.pushed, "pulled": report.pulled, "photos": report.photos_uploaded,
            "rejected": report.rejected, "conflicts": report.conflicts}


# ---------------------------------------------------------------------------------------
# Session (settings, logout)


@dataclass
class LogoutCheck:
    allowed: bool
    pending: int
    needs_confirmation: bool


def check_logout(pending_mutations: int, pending_photos: int, quarantined: int,
                 confirmed: bool) -> LogoutCheck:
    """Logging out with unsynced data is refused unless the person confirmed."""
    pending = pending_mutations + pending_photos + quarantined
    if pending and not confirmed:
        return LogoutCheck(False, pending, True)
    return LogoutCheck(True, pending, bool(pending))


def sign_out(device: Device, confirmed: bool = False) -> LogoutCheck:
    """Forget the login token (the data and the user stay on the device, so
    another user cannot log in while changes wait: ``pending_other_user``)."""
    st = device.status()
    check = check_logout(st.pending_mutations, st.pending_photos, st.quarantined, confirmed)
    if check.allowed:
        with device.store.write() as tx:
            tx.set("token", None)
            tx.set("login_required", False)
            tx.set("login_reason", None)
    return check


@dataclass
class LoginForm:
    server_url: str = ""
    username: str = ""
    password: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    def validate(self) -> bool:
        self.errors = {}
        url = self.server_url.strip()
        if not url:
            self.errors["server_url"] = "err.required"
        elif not url.startswith(("http://", "https://")):
            self.errors["server_url"] = "err.url"
        if not self.username.strip():
            self.errors["username"] = "err.required"
        if not self.password:
            self.errors["password"] = "err.required"
        return not self.errors
